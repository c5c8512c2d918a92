"""Studio: 读者 — the buyers with their figures, one reader's orders and library, the export."""

from zoneinfo import ZoneInfo

from flask import abort, current_app, render_template, request

from app.catalog import entitlements
from app.models.base import utcnow
from app.payments import orders
from app.readers import buyers
from app.spreadsheet import csv_chunks, csv_download
from app.studio import bp


def _list_arguments() -> tuple[str, str]:
    return (
        buyers.normalize_sort(request.args.get("sort")),
        buyers.normalize_search(request.args.get("q")),
    )


@bp.get("/readers")
def readers():
    sort, search = _list_arguments()
    page = buyers.buyer_page(sort, search, request.args.get("page", 1, type=int))
    return render_template(
        "studio/readers/index.html",
        result=page,
        totals=buyers.totals(),
        sort=sort,
        search=search,
        sorts=buyers.SORTS,
    )


@bp.get("/readers.csv")
def readers_csv():
    sort, search = _list_arguments()
    timezone = current_app.config["SHOP_TIMEZONE"]
    rows = buyers.csv_rows(buyers.all_buyers(sort, search), timezone)
    filename = f"readers-{utcnow().astimezone(ZoneInfo(timezone)):%Y%m%d}.csv"
    return csv_download(csv_chunks(rows), filename)


@bp.get("/readers/<int:reader_id>")
def reader(reader_id: int):
    person = buyers.find_reader(reader_id) or abort(404)
    return render_template(
        "studio/readers/detail.html",
        person=person,
        figures=buyers.buyer(person),
        orders=orders.for_reader(person),
        library=entitlements.library(person),
    )
