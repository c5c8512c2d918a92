"""Figures for the creator: pure functions over a pandas ledger of paid orders. No Flask here.

The ledger has one row per paid order (see app/reports.py): `paid_at` (aware UTC), `kind`
("purchase" or "tip"), `product_id`, `title` and `net_fen` (amount less refunds). Days,
weeks and months are the shop's calendar (Asia/Shanghai by default), not UTC's.
"""

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from app.models import OrderSource

LEDGER_COLUMNS = ["paid_at", "kind", "product_id", "title", "net_fen"]
PERIODS = {"day": "D", "week": "W-SUN", "month": "M"}  # weeks run Monday to Sunday


def ledger(rows) -> pd.DataFrame:
    """A ledger frame from (paid_at, kind, product_id, title, net_fen) rows."""
    frame = pd.DataFrame(list(rows), columns=LEDGER_COLUMNS)
    frame["paid_at"] = pd.to_datetime(frame["paid_at"], utc=True)
    frame["net_fen"] = frame["net_fen"].astype("int64")
    return frame


def _local_days(frame: pd.DataFrame, tz: str) -> pd.Series:
    return frame["paid_at"].dt.tz_convert(tz).dt.tz_localize(None)


def totals_by_period(frame: pd.DataFrame, period: str, tz: str) -> pd.DataFrame:
    """Count and net fen per day, week or month (shop time), newest first.

    Orders refunded in full stay in the count of what happened but add 0 to the net.
    """
    if period not in PERIODS:
        raise ValueError(f"period must be one of {sorted(PERIODS)}")
    if frame.empty:
        return pd.DataFrame({"start": [], "count": [], "net_fen": []})
    periods = _local_days(frame, tz).dt.to_period(PERIODS[period])
    table = (
        frame.assign(period=periods)
        .groupby("period")
        .agg(count=("net_fen", "size"), net_fen=("net_fen", "sum"))
        .sort_index(ascending=False)
    )
    table.insert(0, "start", [p.start_time.date() for p in table.index])
    return table.reset_index(drop=True)


def totals_by_item(frame: pd.DataFrame) -> pd.DataFrame:
    """Count and net fen per item (a tip to the creator has no item: product_id is NA),
    largest net first."""
    if frame.empty:
        return pd.DataFrame({"product_id": [], "title": [], "count": [], "net_fen": []})
    table = (
        frame.assign(product_id=frame["product_id"].astype("Int64"))
        .groupby("product_id", dropna=False)
        .agg(title=("title", "last"), count=("net_fen", "size"), net_fen=("net_fen", "sum"))
        .reset_index()
        .sort_values(["net_fen", "count"], ascending=False, kind="stable")
    )
    return table.reset_index(drop=True)


# --- the dashboard: figures over the daily rollups (see app/dashboard.py for the reading) ---


# Days the studio's filters take. Dates outside these are typing mistakes; they would also
# overflow a datetime near year 1/9999 when converted between the shop's time zone and UTC.
EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(2999, 12, 31)


@dataclass(frozen=True)
class DateRange:
    """Shop days from `first` to `last`, both included."""

    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def previous(self) -> "DateRange":
        """The range of equal length just before this one, to compare with."""
        return DateRange(self.first - timedelta(days=self.days), self.first - timedelta(days=1))


@dataclass(frozen=True)
class Card:
    key: str
    label: str
    value: float
    previous: float
    unit: str  # "fen", "count" or "percent"

    @property
    def change(self) -> float | None:
        """Relative change against the previous range; None when there was nothing before."""
        if not self.previous:
            return None
        return (self.value - self.previous) / abs(self.previous)


# sales_daily's columns; the dashboard reads them summed per day and kind.
SALES_COLUMNS = [
    "day",
    "kind",
    "channel",
    "created_count",
    "paid_count",
    "paid_fen",
    "refund_count",
    "refund_fen",
]


def _within(frame: pd.DataFrame, period: DateRange) -> pd.DataFrame:
    return frame[(frame["day"] >= period.first) & (frame["day"] <= period.last)]


def _sums(frame: pd.DataFrame, kind: str) -> pd.Series:
    columns = ["created_count", "paid_count", "paid_fen", "refund_count", "refund_fen"]
    return frame.loc[frame["kind"] == kind, columns].sum()


def headline(
    sales: pd.DataFrame,
    period: DateRange,
    buyers: tuple[int, int],
    new_buyers: tuple[int, int],
) -> list[Card]:
    """The cards at the top: this range against the one before it.

    `sales` holds rows per day and kind covering both ranges; `buyers` and `new_buyers` are
    (this range, previous range) counts of distinct paying readers and first-time ones.
    Net revenue is paid minus refunded in the range; tips are their own card. The refund
    rate is refunded money over paid money.
    """
    cards = []
    for frame in (_within(sales, period), _within(sales, period.previous())):
        purchases, tips = _sums(frame, "purchase"), _sums(frame, "tip")
        paid_count, paid_fen = int(purchases["paid_count"]), int(purchases["paid_fen"])
        cards.append(
            {
                "net": paid_fen - int(purchases["refund_fen"]),
                "tips": int(tips["paid_fen"] - tips["refund_fen"]),
                "orders": paid_count,
                "aov": paid_fen / paid_count if paid_count else 0,
                "refund_rate": purchases["refund_fen"] / paid_fen if paid_fen else 0,
            }
        )
    current, previous = cards
    returning = (buyers[0] - new_buyers[0], buyers[1] - new_buyers[1])
    spec = [
        ("net", "净收入", current["net"], previous["net"], "fen"),
        ("tips", "赞赏（净）", current["tips"], previous["tips"], "fen"),
        ("orders", "付费订单", current["orders"], previous["orders"], "count"),
        ("aov", "客单价", current["aov"], previous["aov"], "fen"),
        ("buyers", "付费读者", buyers[0], buyers[1], "count"),
        ("new_buyers", "新读者", new_buyers[0], new_buyers[1], "count"),
        ("returning", "回头读者", returning[0], returning[1], "count"),
        ("refund_rate", "退款率", current["refund_rate"], previous["refund_rate"], "percent"),
    ]
    return [Card(k, label, float(v), float(p), unit) for k, label, v, p, unit in spec]


def revenue_over_time(sales: pd.DataFrame, period: DateRange, grain: str) -> pd.DataFrame:
    """Net fen of purchases and of tips per day, week or month, every step present."""
    if grain not in PERIODS:
        raise ValueError(f"grain must be one of {sorted(PERIODS)}")
    frame = _within(sales, period)
    days = pd.date_range(period.first, period.last, freq="D")
    net = (
        frame.assign(net=frame["paid_fen"] - frame["refund_fen"], day=pd.to_datetime(frame["day"]))
        .pivot_table(index="day", columns="kind", values="net", aggfunc="sum", fill_value=0)
        .reindex(index=days, columns=["purchase", "tip"], fill_value=0)
        .fillna(0)
    )
    steps = net.groupby(net.index.to_period(PERIODS[grain])).sum().astype("int64")
    steps.index = [p.start_time.date() for p in steps.index]
    steps.index.name = "start"
    return steps.rename(columns={"purchase": "purchases_fen", "tip": "tips_fen"})


CHANNEL_LABELS = {"jsapi": "微信内 JSAPI", "h5": "手机浏览器 H5", "native": "扫码 Native"}


def channel_mix(paid: pd.DataFrame) -> pd.DataFrame:
    """Paid purchases per channel (`paid`: channel, paid_count, paid_fen for the range),
    with each channel's share of the money; every channel listed."""
    table = (
        paid.groupby("channel")[["paid_count", "paid_fen"]]
        .sum()
        .reindex(list(CHANNEL_LABELS), fill_value=0)
        .astype("int64")
    )
    total = table["paid_fen"].sum()
    table["share"] = table["paid_fen"] / total if total else 0.0
    table.insert(0, "label", [CHANNEL_LABELS[c] for c in table.index])
    return table


SOURCE_LABELS = {source.value: source.label for source in OrderSource}
TOP_SHARERS = 10


def source_mix(sold: pd.DataFrame) -> pd.DataFrame:
    """Orders and money per source (`sold`: source, created_count, paid_count, paid_fen,
    refund_fen for the range, purchases and tips), with each source's share of the net
    money; every source listed, in the order of SOURCE_LABELS."""
    counters = ["created_count", "paid_count", "paid_fen", "refund_fen"]
    table = (
        sold.groupby("source")[counters]
        .sum()
        .reindex(list(SOURCE_LABELS), fill_value=0)
        .astype("int64")
    )
    table["net_fen"] = table["paid_fen"] - table["refund_fen"]
    total = table["net_fen"].sum()
    table["share"] = table["net_fen"] / total if total > 0 else 0.0
    table.insert(0, "label", [SOURCE_LABELS[s] for s in table.index])
    table.index.name = "source"
    return table


def top_sharers(shared: pd.DataFrame) -> pd.DataFrame:
    """The readers whose share cards and posters brought the most paid orders, net money
    first (`shared`: sharer_key, paid_count, paid_fen, refund_fen for the range)."""
    table = shared.groupby("sharer_key")[["paid_count", "paid_fen", "refund_fen"]].sum()
    table = table[table["paid_count"] > 0].astype("int64")
    table["net_fen"] = table["paid_fen"] - table["refund_fen"]
    table = table.sort_values(["net_fen", "paid_count"], ascending=False, kind="stable")
    table = table.head(TOP_SHARERS).reset_index().rename(columns={"sharer_key": "reader_id"})
    return table[["reader_id", "paid_count", "net_fen"]]


def item_figures(items: pd.DataFrame, views: pd.DataFrame) -> pd.DataFrame:
    """Per item (purchases only): views, orders created and paid, net fen, and the funnel's
    conversion rates. `items` has product_key, title, created_count, paid_count, paid_fen,
    refund_fen summed over the range; `views` has product_key, title and views."""
    table = items.merge(views, on="product_key", how="outer", suffixes=("", "_viewed"))
    table["title"] = table["title"].fillna(table["title_viewed"]).fillna("")
    table = table.drop(columns="title_viewed")
    for column in ("created_count", "paid_count", "paid_fen", "refund_fen", "views"):
        table[column] = table[column].fillna(0).astype("int64")
    table["net_fen"] = table["paid_fen"] - table["refund_fen"]
    views_ = table["views"].replace(0, np.nan)
    created = table["created_count"].replace(0, np.nan)
    table["view_to_order"] = (table["created_count"] / views_).fillna(0.0)
    table["order_to_paid"] = (table["paid_count"] / created).fillna(0.0)
    table["view_to_paid"] = (table["paid_count"] / views_).fillna(0.0)
    return table.sort_values(["net_fen", "paid_count"], ascending=False, kind="stable").reset_index(
        drop=True
    )


WEEKDAYS = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"]


def weekday_hour_map(hourly: pd.DataFrame) -> np.ndarray:
    """A 7 × 24 matrix of paid purchases: rows Monday..Sunday, columns hours 0..23."""
    grid = np.zeros((7, 24), dtype=np.int64)
    if not hourly.empty:
        np.add.at(
            grid,
            (hourly["weekday"].to_numpy(dtype=int), hourly["hour"].to_numpy(dtype=int)),
            hourly["paid_count"].to_numpy(dtype=np.int64),
        )
    return grid


def cohort_retention(cohorts: pd.DataFrame) -> pd.DataFrame:
    """Monthly cohorts: rows are the month of first purchase, columns the months since
    (0, 1, 2, ...); each cell the share of the cohort that bought in that month. Month 0 is
    1.0 by definition; the `size` column is the cohort's number of readers."""
    if cohorts.empty:
        return pd.DataFrame(columns=["size"])
    frame = cohorts.assign(
        age=[
            (m.year - c.year) * 12 + (m.month - c.month)
            for c, m in zip(cohorts["cohort"], cohorts["month"], strict=True)
        ]
    )
    matrix = frame.pivot_table(index="cohort", columns="age", values="readers", aggfunc="sum")
    sizes = matrix[0] if 0 in matrix.columns else pd.Series(0, index=matrix.index)
    retention = matrix.div(sizes.replace(0, np.nan), axis=0)
    retention.insert(0, "size", sizes.fillna(0).astype("int64"))
    return retention.sort_index()
