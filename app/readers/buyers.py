"""The creator's readers: who bought, how much and when, summed by the database.

A buyer is a reader with at least one paid purchase. "Paid" means every purchase that was
paid, whatever became of it, as the revenue ledger (app/reports.py) counts: a fully refunded
purchase is still a purchase, worth 0 fen. Net is amount − refunded. Tips are summed in a
column of their own and never make a reader a buyer.

Everything is one GROUP BY over orders: no loop over orders in Python, however many there are.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from app.extensions import db
from app.models import WAS_PAID, Order, OrderKind, Reader
from app.money import yuan_for_sheet
from app.spreadsheet import inert
from app.text_search import clean_query, contains_pattern

PAGE_SIZE = 50
SEARCH_MAX_CHARS = 64  # a WeChat nickname is at most 64 characters, a chosen name 32
REPEAT_BUYER_PURCHASES = 2
# key -> label; the first is the default, and anything else in the URL falls back to it.
SORTS = {"spent": "消费最多", "last": "最近购买", "first": "最早购买"}
DEFAULT_SORT = "spent"

CSV_HEADER = [
    "读者ID",
    "名称",
    "身份",
    "购买笔数",
    "购买净额（元）",
    "购买净额（分）",
    "赞赏净额（元）",
    "赞赏净额（分）",
    "首次购买",
    "最近购买",
]
CSV_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True)
class Buyer:
    reader: Reader
    purchases: int
    spent_fen: int  # net of refunds, purchases only
    tipped_fen: int  # net of refunds, tips only
    first_purchase_at: datetime
    last_purchase_at: datetime

    @property
    def is_wechat(self) -> bool:
        return not self.reader.is_guest


@dataclass(frozen=True)
class BuyerTotals:
    buyers: int
    repeat_buyers: int
    spent_fen: int


@dataclass(frozen=True)
class BuyerPage:
    buyers: list[Buyer]
    matched: int  # buyers matching the search, on all pages
    page: int
    pages: int


def normalize_sort(value: str | None) -> str:
    return value if value in SORTS else DEFAULT_SORT


def normalize_search(value: str | None) -> str:
    return clean_query(value, SEARCH_MAX_CHARS)


def _per_reader(reader_id: int | None = None) -> sa.Subquery:
    """One row per buyer (or only this reader): purchase count, net sums, purchase times."""
    is_purchase = Order.kind == OrderKind.PURCHASE
    net = Order.amount_fen - Order.refunded_fen
    purchases = sa.func.count(sa.case((is_purchase, Order.id)))
    paid = [Order.status.in_(WAS_PAID), Order.paid_at.is_not(None)]
    if reader_id is not None:
        paid.append(Order.reader_id == reader_id)
    return (
        sa.select(
            Order.reader_id.label("reader_id"),
            purchases.label("purchases"),
            sa.func.sum(sa.case((is_purchase, net), else_=0)).label("spent_fen"),
            sa.func.sum(sa.case((Order.kind == OrderKind.TIP, net), else_=0)).label("tipped_fen"),
            sa.func.min(sa.case((is_purchase, Order.paid_at))).label("first_purchase_at"),
            sa.func.max(sa.case((is_purchase, Order.paid_at))).label("last_purchase_at"),
        )
        .where(*paid)
        .group_by(Order.reader_id)
        .having(purchases >= 1)
        .subquery("per_reader")
    )


def _buyers(reader_id: int | None = None) -> tuple[sa.Select, sa.Subquery]:
    """Readers joined to their figures: only buyers, unsorted."""
    per_reader = _per_reader(reader_id)
    query = sa.select(
        Reader,
        per_reader.c.purchases,
        per_reader.c.spent_fen,
        per_reader.c.tipped_fen,
        per_reader.c.first_purchase_at,
        per_reader.c.last_purchase_at,
    ).join(per_reader, per_reader.c.reader_id == Reader.id)
    return query, per_reader


def _listed_buyers(sort: str, search: str) -> sa.Select:
    query, per_reader = _buyers()
    if search:
        query = query.where(Reader.known_name.ilike(contains_pattern(search), escape="\\"))
    order = {
        "spent": (per_reader.c.spent_fen.desc(), per_reader.c.last_purchase_at.desc()),
        "last": (per_reader.c.last_purchase_at.desc(),),
        "first": (per_reader.c.first_purchase_at.asc(),),
    }[normalize_sort(sort)]
    return query.order_by(*order, Reader.id.desc())


def _buyer(row) -> Buyer:
    reader, purchases, spent_fen, tipped_fen, first_at, last_at = row
    return Buyer(reader, int(purchases), int(spent_fen), int(tipped_fen), first_at, last_at)


def buyer_page(sort: str, search: str = "", page: int = 1) -> BuyerPage:
    """One page of buyers (PAGE_SIZE), sorted and filtered by name; pages out of range
    show the nearest page that exists."""
    query = _listed_buyers(sort, normalize_search(search))
    counted = sa.select(sa.func.count()).select_from(query.order_by(None).subquery())
    matched = db.session.scalar(counted)
    pages = max(1, -(-matched // PAGE_SIZE))
    page = min(max(1, page), pages)
    rows = db.session.execute(query.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    return BuyerPage(buyers=[_buyer(row) for row in rows], matched=matched, page=page, pages=pages)


def all_buyers(sort: str, search: str = "") -> Iterator[Buyer]:
    """Every buyer, in the order the list shows them (for the export)."""
    for row in db.session.execute(_listed_buyers(sort, normalize_search(search))):
        yield _buyer(row)


def buyer(reader: Reader) -> Buyer | None:
    """This reader's figures, or None when they never paid for a purchase."""
    query, _ = _buyers(reader.id)
    row = db.session.execute(query).first()
    return _buyer(row) if row else None


def totals() -> BuyerTotals:
    """The whole shop's buyers, whatever the list is filtered by."""
    per_reader = _per_reader()
    buyers, repeat, spent = db.session.execute(
        sa.select(
            sa.func.count(),
            sa.func.sum(sa.case((per_reader.c.purchases >= REPEAT_BUYER_PURCHASES, 1), else_=0)),
            sa.func.sum(per_reader.c.spent_fen),
        ).select_from(per_reader)
    ).one()
    return BuyerTotals(
        buyers=buyers or 0, repeat_buyers=int(repeat or 0), spent_fen=int(spent or 0)
    )


def find_reader(reader_id: int) -> Reader | None:
    return db.session.get(Reader, reader_id)


# --- the export ---------------------------------------------------------------------------------


def csv_rows(buyers: Iterable[Buyer], timezone: str) -> Iterator[list[str]]:
    """The header, then one row per buyer: yuan with two decimals beside the exact fen, and
    times in the shop's time zone."""
    zone = ZoneInfo(timezone)
    yield CSV_HEADER
    for b in buyers:
        yield [
            str(b.reader.id),
            inert(b.reader.display_name),
            "微信" if b.is_wechat else "游客",
            str(b.purchases),
            yuan_for_sheet(b.spent_fen),
            str(b.spent_fen),
            yuan_for_sheet(b.tipped_fen),
            str(b.tipped_fen),
            b.first_purchase_at.astimezone(zone).strftime(CSV_TIME_FORMAT),
            b.last_purchase_at.astimezone(zone).strftime(CSV_TIME_FORMAT),
        ]
