"""The tips readers sent: the list, replies, and the tip settings."""

from flask import abort, current_app, flash, redirect, render_template, request, url_for

from app.analytics import ledger, stats
from app.models import OrderKind
from app.money import InvalidAmount, parse_yuan
from app.payments import tips
from app.studio import bp
from app.transactions import writing


@bp.get("/tips")
def tip_list():
    period = request.args.get("period", "day")
    if period not in stats.PERIODS:
        period = "day"
    tips_paid = ledger.paid_ledger(kind=OrderKind.TIP)
    return render_template(
        "studio/tips.html",
        records=tips.for_creator(),
        total_fen=int(tips_paid["net_fen"].sum()),
        counted=int((tips_paid["net_fen"] > 0).sum()),
        by_item=stats.totals_by_item(tips_paid).to_dict("records"),
        by_period=stats.totals_by_period(
            tips_paid, period, current_app.config["SHOP_TIMEZONE"]
        ).to_dict("records")[:31],
        period=period,
        settings=tips.settings(),
    )


@bp.post("/tips/<out_trade_no>/message")
def tip_message(out_trade_no: str):
    """Hide a tip's message from the walls, or show it again."""
    with writing():
        order = tips.find_tip_order(out_trade_no) or abort(404)
        hidden = request.form.get("hidden") == "1"
        tips.hide_message(order, hidden=hidden)
    flash("留言已隐藏" if hidden else "留言已恢复显示", "info")
    return redirect(url_for(".tip_list") + "#tip-" + out_trade_no)


@bp.post("/tips/settings")
def tip_settings():
    form = request.form
    try:
        presets = [
            parse_yuan(p)
            for p in form.get("presets", "").replace("，", ",").split(",")
            if p.strip()
        ]
        max_fen = parse_yuan(form.get("max_yuan", ""))
    except InvalidAmount as error:
        flash(f"金额有误：{error}", "error")
        return redirect(url_for(".settings") + "#tip-settings")
    try:
        with writing():
            tips.save_settings(
                presets,
                max_fen,
                form.get("thanks_note", ""),
                show_amounts=bool(form.get("show_amounts")),
            )
    except tips.TipRefused as error:
        flash(error.message, "error")
        return redirect(url_for(".settings") + "#tip-settings")
    flash("赞赏设置已保存", "info")
    return redirect(url_for(".settings") + "#tip-settings")
