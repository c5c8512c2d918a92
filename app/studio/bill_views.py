"""The daily bill checks (对账): what each found, and marking a day's differences handled."""

from datetime import date

from flask import abort, flash, redirect, render_template, url_for

from app.payments import bill_checks
from app.studio import bp


@bp.context_processor
def bill_alert():
    """The banner every studio page shows while a bill check needs attention; a function, so
    only pages that draw the banner look (a few rows)."""
    return {"bill_checks_needing_attention": bill_checks.needing_attention}


@bp.get("/bill")
def bill_checks_page():
    return render_template("studio/bill_checks.html", checks=bill_checks.recent())


@bp.post("/bill/<day>/handled")
def bill_check_handled(day: str):
    try:
        checked = date.fromisoformat(day)
    except ValueError:
        abort(404)
    if bill_checks.mark_handled(checked):
        flash(f"{checked:%Y-%m-%d} 的对账差异已标记为已处理", "info")
    return redirect(url_for(".bill_checks_page"))
