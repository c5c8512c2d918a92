"""Studio: what the recommendations earn, and how the latest build scored."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, render_template, request

from app.recommendations import lookups
from app.studio import bp
from app.studio.dashboard_views import shop_today

DAYS = {"7": 7, "30": 30, "90": 90}


@bp.get("/recs")
def recs():
    key = request.args.get("range") if request.args.get("range") in DAYS else "30"
    last = shop_today()
    first = last - timedelta(days=DAYS[key] - 1)
    zone = ZoneInfo(current_app.config["SHOP_TIMEZONE"])
    since = datetime.combine(first, time(), zone).astimezone(UTC)
    until = datetime.combine(last + timedelta(days=1), time(), zone).astimezone(UTC)
    return render_template(
        "studio/recs.html",
        range_key=key,
        first=first,
        last=last,
        slots=lookups.slot_figures(first, last, since, until),
        labels=lookups.SLOT_LABELS,
        model=lookups.model_summary(),
    )
