"""A made-up order history: a few hundred orders for the demo shop's dashboard, or a
million for bench/dashboard.py. Vectorised with numpy and written with bulk inserts, so a
million orders take seconds, not minutes.

The shape is believable rather than uniform: more orders in the evening and at lunch,
some readers come back, popular items sell more, most orders are paid, some are left to
expire, a few are refunded in part or in full, and a few are tips. Payments are marked
with transaction ids starting "DEMO": no WeChat (or sandbox) payment stands behind them.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import sqlalchemy as sa

from app.extensions import db
from app.models import (
    Entitlement,
    EntitlementSource,
    Order,
    PageViewsDaily,
    Product,
    Reader,
    Refund,
)
from app.models.base import utcnow

CHANNELS = np.array(["jsapi", "h5", "native"])
CHANNEL_WEIGHTS = [0.6, 0.15, 0.25]
# Hour-of-day weights in shop time: quiet nights, a lunch bump, a long evening.
HOUR_WEIGHTS = np.array(
    [2, 1, 1, 1, 1, 1, 2, 4, 6, 6, 6, 7, 9, 8, 6, 6, 6, 7, 8, 10, 12, 13, 11, 6], dtype=float
)
TIP_AMOUNTS = np.array([200, 500, 1000, 2000, 5000])
SHOP_UTC_OFFSET = timedelta(hours=8)  # the generated hours are meant as Beijing time
BATCH = 50_000


@dataclass(frozen=True)
class History:
    orders: int
    paid: int
    refunds: int
    readers: int


def generate(
    *,
    orders: int,
    readers: int,
    days: int,
    products: list[tuple[int, int]],
    seed: int = 7,
    end: datetime | None = None,
    grant_access: bool = True,
    views_per_order: int = 12,
    tip_share: float = 0.05,
) -> History:
    """Add `orders` orders by `readers` new guest readers over the `days` before `end`.

    `products` are (id, price_fen) of paid items. With grant_access, every paid purchase
    also gets its entitlement, as a real payment would (the bench skips it for speed).
    Tips made here have no message row: they count in the figures, not on the walls.
    """
    rng = np.random.default_rng(seed)
    end = end or utcnow()
    first_reader = _add_readers(readers, end - timedelta(days=days))
    reader_ids = first_reader + _returning_readers(rng, orders, readers)

    day = rng.integers(0, days, orders)
    hour = rng.choice(24, orders, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    seconds = rng.integers(0, 3600, orders)
    start = (end - timedelta(days=days)).replace(hour=0, minute=0, second=0, microsecond=0)
    created = (
        np.datetime64(start.replace(tzinfo=None), "s")
        - np.timedelta64(int(SHOP_UTC_OFFSET.total_seconds()), "s")
        + day.astype("timedelta64[D]")
        + hour.astype("timedelta64[h]")
        + seconds.astype("timedelta64[s]")
    )
    # In time order, as a real shop's ids are (the draws are independent, so sorting one
    # column changes nothing else).
    created = np.sort(np.minimum(created, np.datetime64(end.replace(tzinfo=None), "s")))

    popularity = 1 / np.arange(1, len(products) + 1) ** 0.8
    item = rng.choice(len(products), orders, p=popularity / popularity.sum())
    product_ids = np.array([p for p, _ in products])[item]
    titles = _titles([p for p, _ in products])[item]
    prices = np.array([price for _, price in products])[item]
    is_tip = rng.random(orders) < tip_share
    amount = np.where(is_tip, rng.choice(TIP_AMOUNTS, orders), prices)
    channel = rng.choice(CHANNELS, orders, p=CHANNEL_WEIGHTS)
    fate = rng.random(orders)
    paid = fate < 0.78
    refunded_fully = paid & (fate < 0.015)
    refunded_partly = paid & (fate >= 0.015) & (fate < 0.025) & ~is_tip
    paid_at = created + rng.integers(20, 600, orders).astype("timedelta64[s]")

    status = np.where(paid, "paid", "closed").astype(object)
    status[refunded_fully] = "refunded"
    status[refunded_partly] = "partially_refunded"
    refunded_fen = np.zeros(orders, dtype=np.int64)
    refunded_fen[refunded_fully] = amount[refunded_fully]
    refunded_fen[refunded_partly] = amount[refunded_partly] // 2

    stamp = end.strftime("%y%m%d%H%M")
    numbers = np.arange(orders)
    first_order = _next_id(Order.__table__)
    _insert(
        Order.__table__,
        {
            "out_trade_no": np.char.add(
                f"D{stamp}{seed:03d}", np.char.zfill(numbers.astype(str), 18)
            ),
            "kind": np.where(is_tip, "tip", "purchase"),
            "reader_id": reader_ids,
            "product_id": product_ids,
            "title": np.where(is_tip, np.char.add("赞赏《", np.char.add(titles, "》")), titles),
            "amount_fen": amount,
            "list_price_fen": amount,
            "channel": channel,
            "status": status.astype(str),
            "client_ip": np.full(orders, "127.0.0.1"),
            "created_at": created,
            "expires_at": created + np.timedelta64(2, "h"),
            "paid_at": np.where(paid, paid_at, np.datetime64("NaT")),
            "closed_at": np.where(paid, np.datetime64("NaT"), created + np.timedelta64(2, "h")),
            "transaction_id": np.where(
                paid,
                np.char.add(f"DEMO{stamp}{seed:03d}", np.char.zfill(numbers.astype(str), 14)),
                None,
            ),
            "refunded_fen": refunded_fen,
        },
    )

    refunded = np.flatnonzero(refunded_fully | refunded_partly)
    refunded_on = paid_at[refunded] + np.timedelta64(1, "D")
    _insert(
        Refund.__table__,
        {
            "order_id": first_order + refunded,
            "out_refund_no": np.char.add(
                f"R{stamp}{seed:03d}", np.char.zfill(refunded.astype(str), 18)
            ),
            "amount_fen": refunded_fen[refunded],
            "reason": np.full(len(refunded), "演示退款"),
            "status": np.full(len(refunded), "success"),
            "created_at": refunded_on,
            "finished_at": refunded_on,
        },
    )

    if grant_access:
        kept = paid & ~is_tip & ~refunded_fully
        _grant(reader_ids[kept], product_ids[kept], first_order + np.flatnonzero(kept), end)
    _add_views(created, product_ids, views_per_order, rng)
    return History(orders, int(paid.sum()), len(refunded), readers)


def _returning_readers(rng, orders: int, readers: int) -> np.ndarray:
    """Reader offsets for each order: a long tail, so some readers buy again and again."""
    weights = 1 / np.arange(1, readers + 1) ** 0.6
    return rng.choice(readers, orders, p=weights / weights.sum())


def _add_readers(count: int, since: datetime) -> int:
    """Add `count` guest readers; returns the first one's id (ids are consecutive)."""
    first = _next_id(Reader.__table__)
    moment = np.datetime64(since.astimezone(UTC).replace(tzinfo=None), "us")
    _insert(Reader.__table__, {"created_at": np.full(count, moment)})
    return first


def _titles(product_ids: list[int]) -> np.ndarray:
    """The items' titles, in the order given: each order keeps its item's title."""
    found = dict(
        db.session.execute(
            sa.select(Product.id, Product.title).where(Product.id.in_(product_ids))
        ).all()
    )
    return np.array([found.get(p, "")[:115] for p in product_ids])  # room for 赞赏《》


def _next_id(table: sa.Table) -> int:
    """The id the next row gets: nothing else writes while a history is generated."""
    return (db.session.scalar(sa.select(sa.func.max(table.c.id))) or 0) + 1


def _insert(table: sa.Table, columns: dict[str, np.ndarray]) -> None:
    """Insert whole columns with the driver's executemany, in batches.

    A million rows through SQLAlchemy's per-value type processing would take minutes; the
    driver takes plain values. Times are naive UTC: text in SQLAlchemy's SQLite format, or
    datetime objects for PostgreSQL. Dates likewise.
    """
    connection = db.session.connection()
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:  # room for the indexes while a million rows go in (this connection only)
        connection.exec_driver_sql("PRAGMA cache_size = -262144")
    names = list(columns)
    values = [_driver_values(columns[name], sqlite) for name in names]
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join([mark] * len(names))})"
    rows = list(zip(*values, strict=True))
    for start in range(0, len(rows), BATCH):
        connection.exec_driver_sql(sql, rows[start : start + BATCH])


def _driver_values(column: np.ndarray, sqlite: bool) -> list:
    if np.issubdtype(column.dtype, np.datetime64):
        unit = "D" if column.dtype == np.dtype("datetime64[D]") else "us"
        if sqlite:
            missing = np.isnat(column)
            text = np.datetime_as_string(column.astype(f"datetime64[{unit}]"), unit=unit)
            text = np.char.replace(text, "T", " ")
            return [None if gap else t for t, gap in zip(text.tolist(), missing, strict=True)]
        return [None if v is None else v for v in column.astype(f"datetime64[{unit}]").tolist()]
    if column.dtype.kind in "iu":
        return column.astype(np.int64).tolist()
    return column.tolist()


def _grant(reader_ids, product_ids, order_ids, now: datetime) -> None:
    pairs = np.stack([reader_ids, product_ids])
    _, first = np.unique(pairs, axis=1, return_index=True)  # one entitlement per pair
    moment = np.datetime64(now.astimezone(UTC).replace(tzinfo=None), "us")
    _insert(
        Entitlement.__table__,
        {
            "reader_id": reader_ids[first],
            "product_id": product_ids[first],
            "source": np.full(len(first), EntitlementSource.PURCHASE.value),
            "order_id": order_ids[first],
            "granted_at": np.full(len(first), moment),
        },
    )


def _add_views(created, product_ids, views_per_order: int, rng) -> None:
    """Page views per shop day and item: roughly `views_per_order` for every order made."""
    local_day = (created + np.timedelta64(int(SHOP_UTC_OFFSET.total_seconds()), "s")).astype(
        "datetime64[D]"
    )
    keys, counts = np.unique(
        np.stack([local_day.astype(np.int64), product_ids]), axis=1, return_counts=True
    )
    noise = rng.integers(views_per_order // 2, views_per_order * 3 // 2 + 1, len(counts))
    _insert(
        PageViewsDaily.__table__,
        {
            "day": keys[0].astype("datetime64[D]"),
            "product_key": keys[1],
            "views": counts * noise,
        },
    )
