"""The creator's dashboard: reads the rollups for a range and hands them to app/stats.py.

Every query here touches rollup rows (days × items, days × hours, months × months), never
the orders, so a shop with a million orders answers as fast as one with a thousand.
"""

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
import sqlalchemy as sa

from app.analytics import rollups, stats
from app.analytics.stats import EARLIEST_DAY, DateRange
from app.extensions import db
from app.models import (
    BuyerFirst,
    CohortMonthly,
    ItemSalesDaily,
    PageViewsDaily,
    Product,
    PurchasesHourly,
    Reader,
    SalesDaily,
    SourceSalesDaily,
)

RANGES = {"7": 7, "30": 30, "90": 90, "365": 365}
DEFAULT_RANGE = "30"
CREATOR_TITLE = "作者本人"


def choose_range(
    key: str | None, first: str | None, last: str | None, today: date
) -> tuple[str, DateRange]:
    """The range asked for: a preset number of days up to today, "all", or custom dates.
    Anything unreadable falls back to the last 30 days."""
    if key == "custom":
        try:
            start, end = date.fromisoformat(first or ""), date.fromisoformat(last or "")
        except ValueError:
            start = end = None
        if start and end and EARLIEST_DAY <= start <= end <= today + timedelta(days=1):
            return "custom", DateRange(start, end)
    if key == "all":
        earliest = db.session.scalar(sa.select(sa.func.min(SalesDaily.day))) or today
        return "all", DateRange(min(earliest, today), today)
    key = key if key in RANGES else DEFAULT_RANGE
    return key, DateRange(today - timedelta(days=RANGES[key] - 1), today)


@dataclass(frozen=True)
class Dashboard:
    period: DateRange
    cards: list[stats.Card]
    revenue: pd.DataFrame
    channels: pd.DataFrame
    items: pd.DataFrame
    heatmap: np.ndarray
    cohorts: pd.DataFrame
    sources: pd.DataFrame
    sharers: pd.DataFrame


def build(period: DateRange, grain: str) -> Dashboard:
    """Every figure on the dashboard for `period` (the rollups must be current)."""
    before = period.previous()
    sales = _sales(DateRange(before.first, period.last))
    buyers = (
        rollups.count_buyers_between(period.first, period.last),
        rollups.count_buyers_between(before.first, before.last),
    )
    new_buyers = (_first_buyers(period), _first_buyers(before))
    return Dashboard(
        period=period,
        cards=stats.headline(sales, period, buyers, new_buyers),
        revenue=stats.revenue_over_time(sales, period, grain),
        channels=stats.channel_mix(_channels(period)),
        items=stats.item_figures(_items(period), _views(period)),
        heatmap=stats.weekday_hour_map(_hourly(period)),
        cohorts=stats.cohort_retention(_cohorts()),
        sources=stats.source_mix(_by_source(period)),
        sharers=_top_sharers(period),
    )


def _sales(period: DateRange) -> pd.DataFrame:
    """Per day and kind (channels summed in SQL): what the cards and the trend need."""
    table = SalesDaily.__table__.c
    counters = [c for c in stats.SALES_COLUMNS if c not in ("day", "kind", "channel")]
    rows = db.session.execute(
        sa.select(table.day, table.kind, *(sa.func.sum(table[c]) for c in counters))
        .where(table.day >= period.first, table.day <= period.last)
        .group_by(table.day, table.kind)
    )
    return _frame(rows, ["day", "kind", *counters])


def _channels(period: DateRange) -> pd.DataFrame:
    table = SalesDaily.__table__.c
    rows = db.session.execute(
        sa.select(table.channel, sa.func.sum(table.paid_count), sa.func.sum(table.paid_fen))
        .where(table.day >= period.first, table.day <= period.last, table.kind == "purchase")
        .group_by(table.channel)
    )
    return _frame(rows, ["channel", "paid_count", "paid_fen"])


def _by_source(period: DateRange) -> pd.DataFrame:
    table = SourceSalesDaily.__table__.c
    counters = ["created_count", "paid_count", "paid_fen", "refund_fen"]
    rows = db.session.execute(
        sa.select(table.source, *(sa.func.sum(table[c]) for c in counters))
        .where(table.day >= period.first, table.day <= period.last)
        .group_by(table.source)
    )
    return _frame(rows, ["source", *counters])


def _top_sharers(period: DateRange) -> pd.DataFrame:
    table = SourceSalesDaily.__table__.c
    counters = ["paid_count", "paid_fen", "refund_fen"]
    rows = db.session.execute(
        sa.select(table.sharer_key, *(sa.func.sum(table[c]) for c in counters))
        .where(table.day >= period.first, table.day <= period.last, table.sharer_key != 0)
        .group_by(table.sharer_key)
    )
    shared = _frame(rows, ["sharer_key", *counters])
    top = stats.top_sharers(shared)
    ids = [int(r) for r in top["reader_id"]]
    names = {
        reader.id: reader.display_name
        for reader in db.session.scalars(sa.select(Reader).where(Reader.id.in_(ids)))
    }
    # A sharer no longer in the shop (a guest merged away) keeps their row, unnamed.
    top.insert(1, "display_name", [names.get(r, f"读者{r}") for r in ids])
    return top


def _items(period: DateRange) -> pd.DataFrame:
    table = ItemSalesDaily.__table__.c
    rows = db.session.execute(
        sa.select(
            table.product_key,
            sa.func.coalesce(Product.title, CREATOR_TITLE),
            sa.func.sum(table.created_count),
            sa.func.sum(table.paid_count),
            sa.func.sum(table.paid_fen),
            sa.func.sum(table.refund_fen),
        )
        .outerjoin(Product, Product.id == table.product_key)
        .where(table.day >= period.first, table.day <= period.last, table.kind == "purchase")
        .group_by(table.product_key, Product.title)
    )
    columns = ["product_key", "title", "created_count", "paid_count", "paid_fen", "refund_fen"]
    return _frame(rows, columns)


def _views(period: DateRange) -> pd.DataFrame:
    table = PageViewsDaily.__table__.c
    rows = db.session.execute(
        sa.select(table.product_key, sa.func.sum(table.views))
        .where(table.day >= period.first, table.day <= period.last)
        .group_by(table.product_key)
    )
    views = _frame(rows, ["product_key", "views"])
    titles = dict(
        db.session.execute(
            sa.select(Product.id, Product.title).where(
                Product.id.in_(views["product_key"].tolist())
            )
        ).all()
    )
    return views.assign(title=views["product_key"].map(titles))


def _hourly(period: DateRange) -> pd.DataFrame:
    table = PurchasesHourly.__table__.c
    rows = db.session.execute(
        sa.select(table.weekday, table.hour, sa.func.sum(table.paid_count))
        .where(table.day >= period.first, table.day <= period.last)
        .group_by(table.weekday, table.hour)
    )
    return _frame(rows, ["weekday", "hour", "paid_count"])


def _first_buyers(period: DateRange) -> int:
    return db.session.scalar(
        sa.select(sa.func.count()).where(
            BuyerFirst.first_day >= period.first, BuyerFirst.first_day <= period.last
        )
    )


def _cohorts() -> pd.DataFrame:
    rows = db.session.execute(
        sa.select(CohortMonthly.cohort, CohortMonthly.month, CohortMonthly.readers)
    )
    return _frame(rows, ["cohort", "month", "readers"])


def _frame(rows, columns: list[str]) -> pd.DataFrame:
    """A frame built column by column: much faster than from a list of Row objects."""
    values = list(zip(*rows, strict=True)) or [()] * len(columns)
    return pd.DataFrame(dict(zip(columns, values, strict=True)))
