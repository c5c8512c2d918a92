"""The dashboard (the studio's front page), its CSV exports, and the chart library."""

from datetime import date, timedelta
from importlib import metadata, resources
from zoneinfo import ZoneInfo

import pandas as pd
from flask import Response, abort, current_app, render_template, request, url_for

from app.analytics import charts, dashboard, listening, promotions, rollups, stats
from app.models.base import utcnow
from app.money import yuan_for_input
from app.spreadsheet import csv_download, inert
from app.studio import bp
from app.web import compression
from app.web.static_assets import ONE_YEAR

PLOTLY_VERSION = metadata.version("plotly")


def shop_today() -> date:
    return utcnow().astimezone(ZoneInfo(current_app.config["SHOP_TIMEZONE"])).date()


def _grain(period: stats.DateRange) -> str:
    asked = request.args.get("grain")
    if asked in stats.PERIODS:
        return asked
    return "day" if period.days <= 92 else "week" if period.days <= 400 else "month"


def _dashboard() -> tuple[str, str, dashboard.Dashboard]:
    rollups.ensure_current(
        current_app.config["SHOP_TIMEZONE"],
        timedelta(seconds=current_app.config["ROLLUP_FOLD_LAG_SECONDS"]),
    )
    key, period = dashboard.choose_range(
        request.args.get("range"), request.args.get("from"), request.args.get("to"), shop_today()
    )
    grain = _grain(period)
    return key, grain, dashboard.build(period, grain)


@bp.get("/")
def index():
    key, grain, data = _dashboard()
    return render_template(
        "studio/dashboard.html",
        d=data,
        range_key=key,
        grain=grain,
        ranges=[
            ("7", "近 7 天"),
            ("30", "近 30 天"),
            ("90", "近 90 天"),
            ("365", "近一年"),
            ("all", "全部"),
        ],
        charts={
            "revenue": charts.revenue(data.revenue),
            "channels": charts.channels(data.channels),
            "items": charts.top_items(data.items),
            "heatmap": charts.heatmap(data.heatmap),
            "cohorts": charts.cohorts(data.cohorts),
        },
        top_by_orders=data.items.sort_values("paid_count", ascending=False, kind="stable").head(10),
        promo=promotions.effects(data.period, current_app.config["SHOP_TIMEZONE"]),
        chosen_buckets=promotions.CHOSEN_BUCKETS,
        listening=listening.by_lesson(),
        weekdays=stats.WEEKDAYS,
        attribution_days=current_app.config["ATTRIBUTION_WINDOW_DAYS"],
        folded_at=rollups.last_folded_at(),
        plotly_url=url_for(".plotly_js", version=PLOTLY_VERSION),
        export_args={
            k: v for k, v in request.args.items() if k in ("range", "from", "to", "grain")
        },
    )


# --- CSV: every table the dashboard shows -------------------------------------------------------


def _export_tables(data: dashboard.Dashboard) -> dict[str, pd.DataFrame]:
    money = lambda fen: fen.map(yuan_for_input)  # noqa: E731  (a column's yuan twin)
    revenue = data.revenue.reset_index()
    revenue.insert(2, "purchases_yuan", money(revenue["purchases_fen"]))
    revenue["tips_yuan"] = money(revenue["tips_fen"])
    channels = data.channels.reset_index()
    channels["paid_yuan"] = money(channels["paid_fen"])
    items = data.items.drop(columns="product_key").assign(net_yuan=lambda f: money(f["net_fen"]))
    heatmap = pd.DataFrame(data.heatmap, index=stats.WEEKDAYS, columns=range(24))
    heatmap.index.name = "weekday"
    cohorts = data.cohorts.copy()
    cohorts.index = [c.strftime("%Y-%m") for c in cohorts.index]
    cohorts.index.name = "cohort"
    return {
        "cards": pd.DataFrame(
            [(c.key, c.label, c.value, c.previous, c.change) for c in data.cards],
            columns=["key", "label", "value", "previous", "change"],
        ),
        "revenue": revenue,
        "channels": channels,
        "items": items,
        "heatmap": heatmap.reset_index(),
        "cohorts": cohorts.reset_index(),
        "sources": data.sources.reset_index().assign(net_yuan=lambda f: money(f["net_fen"])),
        # Readers choose their names: never let a spreadsheet run one as a formula.
        "sharers": data.sharers.assign(
            display_name=data.sharers["display_name"].map(inert),
            net_yuan=money(data.sharers["net_fen"]),
        ),
    }


@bp.get("/dashboard/<table>.csv")
def dashboard_csv(table: str):
    _, _, data = _dashboard()
    frame = _export_tables(data).get(table)
    if frame is None:
        abort(404)
    name = f"dashboard-{table}-{data.period.first}-{data.period.last}.csv"
    return csv_download([frame.to_csv(index=False, lineterminator="\r\n")], name)


# --- the chart library, from the installed package ----------------------------------------------


@bp.get("/assets/plotly-<version>.min.js")
def plotly_js(version: str):
    """plotly.min.js from the `plotly` package, gzipped once per process (4.8 MB → 1.4 MB).
    The version is in the URL, so browsers keep it for a year."""
    if version != PLOTLY_VERSION:
        abort(404)
    raw, packed = _plotly_bytes()
    gzip_ok = compression.accepts_gzip()
    response = Response(packed if gzip_ok else raw, mimetype="text/javascript")
    if gzip_ok:
        response.headers["Content-Encoding"] = "gzip"
    response.headers["Vary"] = "Accept-Encoding"
    # As app/static (static_assets.py): versioned, so a year and immutable; private, as the
    # studio is the creator's alone.
    response.headers["Cache-Control"] = f"private, max-age={ONE_YEAR}, immutable"
    return response


def _plotly_bytes() -> tuple[bytes, bytes]:
    cached = current_app.extensions.get("plotly_js")
    if cached is None:
        raw = (resources.files("plotly") / "package_data" / "plotly.min.js").read_bytes()
        cached = current_app.extensions["plotly_js"] = (raw, compression.gzip_bytes(raw))
    return cached
