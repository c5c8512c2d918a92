"""Daily rollups the dashboard reads instead of the orders: their size grows with days and
items, not with orders. app/rollups.py keeps them; app/stats.py computes on them.

Days are the shop's calendar days (SHOP_TIMEZONE), as dates. `product_key` is the product's
id, or 0 for what has no item (a tip to the creator), so it can be part of a primary key.
"""

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import UTCDateTime, db

# On SQLite the rows are stored in primary-key order (day first), so a date range is one
# contiguous read instead of an index search plus a lookup per row. PostgreSQL ignores it.
CLUSTERED = {"sqlite_with_rowid": False}


class SalesDaily(db.Model):
    """Per day, kind (purchase or tip) and channel: orders created, paid and refunded."""

    __tablename__ = "sales_daily"
    __table_args__ = CLUSTERED

    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    channel: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    created_count: Mapped[int] = mapped_column(default=0)
    paid_count: Mapped[int] = mapped_column(default=0)
    paid_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    refund_count: Mapped[int] = mapped_column(default=0)
    refund_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)


class ItemSalesDaily(db.Model):
    """Per day, item and kind: the same counts, for top items and each item's funnel."""

    __tablename__ = "item_sales_daily"
    __table_args__ = CLUSTERED

    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    product_key: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    created_count: Mapped[int] = mapped_column(default=0)
    paid_count: Mapped[int] = mapped_column(default=0)
    paid_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    refund_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)


class PurchasesHourly(db.Model):
    """Paid purchases per day and hour of day (shop time), for the weekday × hour map."""

    __tablename__ = "purchases_hourly"
    __table_args__ = CLUSTERED

    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    hour: Mapped[int] = mapped_column(primary_key=True)
    weekday: Mapped[int]  # Monday = 0, stored so the map is one GROUP BY on any database
    paid_count: Mapped[int] = mapped_column(default=0)


class SourceSalesDaily(db.Model):
    """Per day, source (what brought the reader: app/sharing/attribution.py), sharer and
    kind: orders created, paid and refunded. `sharer_key` is the sharer's reader id, or 0
    for an order nobody shared."""

    __tablename__ = "source_sales_daily"
    __table_args__ = CLUSTERED

    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    source: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    sharer_key: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    created_count: Mapped[int] = mapped_column(default=0)
    paid_count: Mapped[int] = mapped_column(default=0)
    paid_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    refund_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)


class PageViewsDaily(db.Model):
    """Product page views per day and item (counted in memory, flushed in batches)."""

    __tablename__ = "page_views_daily"
    __table_args__ = CLUSTERED

    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    product_key: Mapped[int] = mapped_column(primary_key=True)
    views: Mapped[int] = mapped_column(default=0)


class BuyerDay(db.Model):
    """Which readers bought on a day: their ids as a sorted int32 array. The paying readers
    of any range are the union of its days, exact, without touching the orders."""

    __tablename__ = "buyer_days"
    __table_args__ = CLUSTERED

    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    reader_ids: Mapped[bytes] = mapped_column(sa.LargeBinary)


class BuyerFirst(db.Model):
    """Each buyer's first paid purchase: new versus returning readers, and cohorts."""

    __tablename__ = "buyer_firsts"
    __table_args__ = CLUSTERED

    reader_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    first_day: Mapped[date] = mapped_column(sa.Date, index=True)


class CohortMonthly(db.Model):
    """Readers of the cohort that first bought in `cohort` (a month's first day) who bought
    in `month`: the retention matrix, kept as purchases arrive."""

    __tablename__ = "cohort_monthly"
    __table_args__ = CLUSTERED

    cohort: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    month: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    readers: Mapped[int] = mapped_column(default=0)


class RollupState(db.Model):
    """One row: how far the rollups have read the payment events, and in which time zone."""

    __tablename__ = "rollup_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_event_id: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    timezone: Mapped[str] = mapped_column(sa.String(40))
    rebuilt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    folded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
