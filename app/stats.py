"""Figures for the creator: pure functions over a pandas ledger of paid orders. No Flask here.

The ledger has one row per paid order (see app/reports.py): `paid_at` (aware UTC), `kind`
("purchase" or "tip"), `product_id`, `title` and `net_fen` (amount less refunds). Days,
weeks and months are the shop's calendar (Asia/Shanghai by default), not UTC's.
"""

from datetime import date

import pandas as pd

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


def revenue_by_day(frame: pd.DataFrame, first: date, last: date, tz: str) -> pd.DataFrame:
    """Net fen per shop day from `first` to `last` inclusive, purchases and tips apart.

    Every day is present (zeros where nothing was paid), so a chart has no gaps.
    """
    days = pd.date_range(first, last, freq="D")
    local = _local_days(frame, tz).dt.normalize()
    table = (
        frame.assign(day=local)
        .pivot_table(index="day", columns="kind", values="net_fen", aggfunc="sum", fill_value=0)
        .reindex(index=days, columns=["purchase", "tip"], fill_value=0)
        .fillna(0)
        .astype("int64")
    )
    table.index = table.index.date
    table.index.name = "day"
    return table.rename(columns={"purchase": "purchases_fen", "tip": "tips_fen"})


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
