"""Keeping the dashboard's daily rollups (app/models/rollups.py) in step with the orders.

The payment path is not slowed down for them: every order transition already writes a
`payment_events` row with an increasing id. `fold` reads the events since the last one it
read (created, paid, refund_success), turns them into additions to the rollups and moves
the mark, all in one write transaction, so two folds never count an event twice. The
dashboard folds before it reads, so its cost follows the orders since the last visit, not
all orders. `rebuild` recomputes everything from the orders themselves (first use, a
changed time zone, `flask stats rebuild`).

Events are folded only once they are a few seconds old: on PostgreSQL an event with a lower
id can commit after one with a higher id, and the lag lets the slower transaction finish.
"""

from collections import Counter
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import sqlalchemy as sa

from app.extensions import db
from app.models import (
    WAS_PAID,
    BuyerDay,
    BuyerFirst,
    CohortMonthly,
    ItemSalesDaily,
    Order,
    OrderKind,
    PaymentEvent,
    PaymentEventKind,
    PurchasesHourly,
    Refund,
    RefundStatus,
    RollupState,
    SalesDaily,
    SourceSalesDaily,
)
from app.models.base import upsert_adding, utcnow
from app.transactions import begin_write

FOLD_LAG = timedelta(seconds=5)
_ROLLUPS = (
    SalesDaily,
    ItemSalesDaily,
    SourceSalesDaily,
    PurchasesHourly,
    BuyerDay,
    BuyerFirst,
    CohortMonthly,
)
# What each kind of change adds: orders created, paid (with money) and refunded (money back).
_COLUMNS = ["at", "kind", "channel", "product_key", "reader_id", "source", "sharer_key", "fen"]


def ensure_current(tz: str, lag: timedelta = FOLD_LAG) -> None:
    """Bring the rollups up to date (rebuilding them if they never were) and commit."""
    begin_write()
    state = db.session.scalar(sa.select(RollupState).with_for_update())
    if state is None or state.timezone != tz:
        _rebuild(tz, state)
    else:
        _fold(state, tz, lag)
    db.session.commit()


def rebuild(tz: str) -> None:
    """Recompute every rollup from the orders and refunds, and commit."""
    begin_write()
    _rebuild(tz, db.session.scalar(sa.select(RollupState).with_for_update()))
    db.session.commit()


# --- from the orders ----------------------------------------------------------------------------


def _rebuild(tz: str, state: RollupState | None) -> None:
    if db.session.get_bind().dialect.name == "postgresql":
        # Hold payments back while the orders are read, so none is both read here and
        # folded later from its event.
        db.session.execute(sa.text("LOCK TABLE orders, refunds IN SHARE MODE"))
    for model in _ROLLUPS:
        db.session.execute(sa.delete(model))
    mark = db.session.scalar(sa.select(sa.func.max(PaymentEvent.id))) or 0
    orders = Order.__table__.c
    created = _frame(
        db.session.execute(
            sa.select(
                _raw(orders.created_at),
                _raw(orders.kind),
                _raw(orders.channel),
                orders.product_id,
                orders.reader_id,
                *_origin(orders),
                sa.literal(0),
            )
        )
    )
    paid = _frame(
        db.session.execute(
            sa.select(
                _raw(orders.paid_at),
                _raw(orders.kind),
                _raw(orders.channel),
                orders.product_id,
                orders.reader_id,
                *_origin(orders),
                orders.amount_fen,
            ).where(orders.status.in_([s.value for s in WAS_PAID]), orders.paid_at.is_not(None))
        )
    )
    refunds = _frame(db.session.execute(_refunds_query(Refund.status == RefundStatus.SUCCESS)))
    _add_all(created, paid, refunds, tz)
    if state is None:
        state = RollupState(id=1)
        db.session.add(state)
    state.timezone = tz
    state.last_event_id = mark
    state.rebuilt_at = state.folded_at = utcnow()


def _refunds_query(*where):
    refunds, orders = Refund.__table__.c, Order.__table__.c
    return (
        sa.select(
            _raw(refunds.finished_at),
            _raw(orders.kind),
            _raw(orders.channel),
            orders.product_id,
            orders.reader_id,
            *_origin(orders),
            refunds.amount_fen,
        )
        .join_from(Refund.__table__, Order.__table__, refunds.order_id == orders.id)
        .where(*where)
    )


# --- from the events ----------------------------------------------------------------------------


def _fold(state: RollupState, tz: str, lag: timedelta) -> None:
    upto = utcnow() - lag
    events = PaymentEvent.__table__.c
    mark = db.session.scalar(
        sa.select(sa.func.max(events.id)).where(
            events.id > state.last_event_id, events.created_at < upto
        )
    )
    if mark is None:
        return
    window = (events.id > state.last_event_id, events.id <= mark)
    orders = Order.__table__.c

    def order_events(kind: PaymentEventKind, at, fen):
        return _frame(
            db.session.execute(
                sa.select(
                    _raw(at),
                    _raw(orders.kind),
                    _raw(orders.channel),
                    orders.product_id,
                    orders.reader_id,
                    *_origin(orders),
                    fen,
                )
                .join_from(PaymentEvent.__table__, Order.__table__, events.order_id == orders.id)
                .where(*window, events.kind == kind)
            )
        )

    created = order_events(PaymentEventKind.CREATED, orders.created_at, sa.literal(0))
    paid = order_events(PaymentEventKind.PAID, orders.paid_at, orders.amount_fen)
    # A settled refund's event names it in its detail; the refunds themselves carry the
    # amount and time. Few per fold, so they are looked up by number.
    numbers = [
        detail.get("out_refund_no")
        for detail in db.session.scalars(
            sa.select(events.detail).where(*window, events.kind == PaymentEventKind.REFUND_SUCCESS)
        )
    ]
    refunds = _frame(db.session.execute(_refunds_query(Refund.out_refund_no.in_(numbers))))
    _add_all(created, paid, refunds, tz)
    state.last_event_id = mark
    state.folded_at = utcnow()


# --- adding to the rollups ----------------------------------------------------------------------


def _raw(column):
    """The column as the driver returns it, skipping SQLAlchemy's per-value conversion
    (enums, UTC datetimes): pandas converts whole columns much faster."""
    return sa.type_coerce(column, sa.String)


def _origin(orders) -> tuple:
    """What brought the order (its source and sharer, 0 for none), as the rollups key it."""
    return _raw(orders.source), sa.func.coalesce(orders.sharer_id, 0)


def _frame(rows) -> pd.DataFrame:
    columns = list(zip(*rows, strict=True)) or [()] * len(_COLUMNS)
    frame = pd.DataFrame(dict(zip(_COLUMNS, columns, strict=True)))
    frame["at"] = pd.to_datetime(frame["at"], utc=True, format="ISO8601")
    frame["kind"] = frame["kind"].astype(str)
    frame["channel"] = frame["channel"].astype(str)
    frame["source"] = frame["source"].astype(str)
    frame["sharer_key"] = frame["sharer_key"].astype("int64")
    frame["product_key"] = frame["product_key"].fillna(0).astype("int64")  # 0: no item
    frame["fen"] = frame["fen"].fillna(0).astype("int64")
    return frame.dropna(subset=["at"])


def _add_all(created: pd.DataFrame, paid: pd.DataFrame, refunds: pd.DataFrame, tz: str) -> None:
    for frame in (created, paid, refunds):
        local = frame["at"].dt.tz_convert(tz).dt.tz_localize(None)
        frame["day"] = local.dt.normalize()
        frame["hour"] = local.dt.hour
    parts = [
        created.assign(created_count=1, paid_count=0, paid_fen=0, refund_count=0, refund_fen=0),
        paid.assign(
            created_count=0, paid_count=1, paid_fen=paid["fen"], refund_count=0, refund_fen=0
        ),
        refunds.assign(
            created_count=0, paid_count=0, paid_fen=0, refund_count=1, refund_fen=refunds["fen"]
        ),
    ]
    parts = [p for p in parts if not p.empty]
    if not parts:
        return
    changes = pd.concat(parts)
    counters = ["created_count", "paid_count", "paid_fen", "refund_count", "refund_fen"]
    _upsert(SalesDaily, changes, ["day", "kind", "channel"], counters)
    item_counters = ["created_count", "paid_count", "paid_fen", "refund_fen"]
    _upsert(ItemSalesDaily, changes, ["day", "product_key", "kind"], item_counters)
    _upsert(SourceSalesDaily, changes, ["day", "source", "sharer_key", "kind"], item_counters)
    purchases = paid[paid["kind"] == OrderKind.PURCHASE.value]
    if not purchases.empty:
        hourly = purchases.assign(weekday=purchases["day"].dt.day_of_week, paid_count=1)
        _upsert(PurchasesHourly, hourly, ["day", "hour"], ["paid_count"], extra=["weekday"])
        _add_buyers(purchases[["day", "reader_id"]])


def _upsert(model, frame: pd.DataFrame, keys, counters, extra=()) -> None:
    grouped = frame.groupby(keys + list(extra), as_index=False)[counters].sum()
    grouped["day"] = grouped["day"].dt.date
    rows = grouped.to_dict("records")
    rows = [{k: _plain(v) for k, v in row.items()} for row in rows]
    if rows:
        db.session.execute(upsert_adding(model.__table__, tuple(keys), tuple(counters)), rows)


def _plain(value):
    """numpy scalars to Python ones, which every database driver takes."""
    return value.item() if isinstance(value, np.generic) else value


# --- who bought -----------------------------------------------------------------------------------


def _add_buyers(pairs: pd.DataFrame) -> None:
    """Record who bought on which day, each buyer's first day, and the cohort matrix.

    `pairs` has a day (shop midnight, datetime64) and a reader_id per paid purchase.
    Vectorised: a rebuild passes every purchase of the shop at once.
    """
    pairs = pairs.drop_duplicates()
    months = pairs["day"].dt.to_period("M")
    month_starts = {m: m.start_time.date() for m in months.unique()}
    before = {m: _buyers_between(start, _month_end(start)) for m, start in month_starts.items()}

    first_day = _first_days(pairs)  # first: it reads the days bought before these
    _merge_buyer_days(pairs)

    # A (reader, month) pair is new to the cohort matrix unless the reader had already
    # bought earlier that month (before these purchases were added).
    by_month = pairs.assign(month=months)[["reader_id", "month"]].drop_duplicates()
    fresh = [
        group[~np.isin(group["reader_id"].to_numpy(), before[month])]
        for month, group in by_month.groupby("month")
    ]
    fresh = pd.concat(fresh) if fresh else by_month.iloc[0:0]
    if fresh.empty:
        return
    cohort = pd.to_datetime(fresh["reader_id"].map(first_day)).dt.to_period("M")
    counts = fresh.assign(cohort=cohort).groupby(["cohort", "month"]).size()
    db.session.execute(
        upsert_adding(CohortMonthly.__table__, ("cohort", "month"), ("readers",)),
        [
            {"cohort": c.start_time.date(), "month": m.start_time.date(), "readers": int(n)}
            for (c, m), n in counts.items()
        ],
    )


def _merge_buyer_days(pairs: pd.DataFrame) -> None:
    days = {d: d.date() for d in pairs["day"].unique()}
    stored = {
        row.day: row
        for row in db.session.scalars(sa.select(BuyerDay).where(BuyerDay.day.in_(days.values())))
    }
    new_rows = []
    for day, group in pairs.groupby("day"):
        ids = np.unique(group["reader_id"].to_numpy(dtype=np.int32))
        row = stored.get(days[day])
        if row is None:
            new_rows.append({"day": days[day], "reader_ids": ids.tobytes()})
        else:
            row.reader_ids = np.union1d(_ids(row.reader_ids), ids).astype(np.int32).tobytes()
    if new_rows:
        db.session.execute(sa.insert(BuyerDay), new_rows)


def _first_days(pairs: pd.DataFrame) -> pd.Series:
    """Each reader's first purchase day; new buyers are stored, and a known buyer whose new
    purchase is earlier (its notification came late) moves to the earlier day and cohort."""
    firsts = pairs.groupby("reader_id")["day"].min()
    known = {}
    readers = [int(r) for r in firsts.index]
    for start in range(0, len(readers), 10_000):  # SQLite caps the number of parameters
        known.update(_stored_firsts(readers[start : start + 10_000]))
    earlier = {
        reader: day.date()
        for reader, day in zip(firsts.index.tolist(), firsts.dt.to_pydatetime(), strict=True)
        if reader in known and day.date() < known[reader]
    }
    if earlier:
        _move_first_days(earlier, known)
        known.update(earlier)
    new = firsts[~firsts.index.isin(list(known))]
    if not new.empty:
        db.session.execute(
            sa.insert(BuyerFirst),
            [
                {"reader_id": int(r), "first_day": d.date()}
                for r, d in zip(new.index, new.dt.to_pydatetime(), strict=True)
            ],
        )
    if known:
        firsts.update(pd.Series(pd.to_datetime(list(known.values())), index=list(known)))
    return firsts


def count_buyers_between(first: date, last: date) -> int:
    """How many distinct readers bought from `first` to `last` (shop days): the days'
    reader ids marked in one boolean array, which is faster than sorting them."""
    arrays = [
        _ids(blob)
        for blob in db.session.scalars(
            sa.select(BuyerDay.reader_ids).where(BuyerDay.day >= first, BuyerDay.day <= last)
        )
    ]
    arrays = [a for a in arrays if len(a)]
    if not arrays:
        return 0
    seen = np.zeros(max(int(a[-1]) for a in arrays) + 1, dtype=bool)  # arrays are sorted
    for ids in arrays:
        seen[ids] = True
    return int(np.count_nonzero(seen))


def _buyers_between(first: date, last: date) -> np.ndarray:
    blobs = db.session.scalars(
        sa.select(BuyerDay.reader_ids).where(BuyerDay.day >= first, BuyerDay.day <= last)
    ).all()
    if not blobs:
        return np.empty(0, dtype=np.int32)
    return np.unique(np.concatenate([_ids(b) for b in blobs]))


def _ids(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=np.int32)


def _month_end(month: date) -> date:
    following = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


def last_folded_at() -> datetime | None:
    return db.session.scalar(sa.select(RollupState.folded_at))


# --- a guest who bought signs in as a WeChat reader we know -----------------------------------


def merge_buyer(guest_id: int, target_id: int) -> None:
    """Make the guest's rows the WeChat reader's, as a rebuild would: they are one person.

    One paying reader a day, one first day, one cohort. Events not folded yet need nothing: a
    fold reads an order's reader as it is then. The caller commits, with the rest of the merge.
    """
    firsts = _stored_firsts((guest_id, target_id))
    if guest_id not in firsts:
        return  # bought nothing that was folded (or the rollups were never built)
    days = _days_bought((guest_id, target_id))
    for row in db.session.scalars(sa.select(BuyerDay).where(BuyerDay.day.in_(days[guest_id]))):
        ids = _ids(row.reader_ids)
        merged = np.union1d(ids[ids != guest_id], [target_id])
        row.reader_ids = merged.astype(np.int32).tobytes()
    first = min(firsts.values())
    changes: Counter = Counter()
    for reader_id, first_of_reader in firsts.items():
        changes.subtract((_month_of(first_of_reader), m) for m in _months(days[reader_id]))
    changes.update((_month_of(first), m) for m in _months(days[guest_id] | days[target_id]))
    _add_to_cohorts(changes)
    db.session.execute(sa.delete(BuyerFirst).where(BuyerFirst.reader_id.in_(list(firsts))))
    db.session.execute(sa.insert(BuyerFirst), [{"reader_id": target_id, "first_day": first}])


def _move_first_days(earlier: dict[int, date], known: dict[int, date]) -> None:
    """Readers whose first purchase turned out earlier: their cohort cells move with them."""
    days = _days_bought(earlier)
    changes: Counter = Counter()
    for reader_id, first in earlier.items():
        months = _months(days[reader_id])
        changes.subtract((_month_of(known[reader_id]), m) for m in months)
        changes.update((_month_of(first), m) for m in months)
        db.session.execute(
            sa.update(BuyerFirst).where(BuyerFirst.reader_id == reader_id).values(first_day=first)
        )
    _add_to_cohorts(changes)


def _days_bought(reader_ids) -> dict[int, set[date]]:
    """The days on which each of these readers bought, from `buyer_days`.

    It reads every day's row: only the rare corrections (a merge, a late notification) ask.
    """
    wanted = np.array(sorted(reader_ids), dtype=np.int32)
    days: dict[int, set[date]] = {int(r): set() for r in wanted}
    for day, blob in db.session.execute(sa.select(BuyerDay.day, BuyerDay.reader_ids)):
        for reader_id in wanted[np.isin(wanted, _ids(blob))].tolist():
            days[reader_id].add(day)
    return days


def _stored_firsts(reader_ids) -> dict[int, date]:
    return dict(
        db.session.execute(
            sa.select(BuyerFirst.reader_id, BuyerFirst.first_day).where(
                BuyerFirst.reader_id.in_(list(reader_ids))
            )
        ).all()
    )


def _add_to_cohorts(changes: Counter) -> None:
    """Add (or take) readers to (from) cohort cells; a cell left empty is dropped."""
    rows = [{"cohort": c, "month": m, "readers": n} for (c, m), n in changes.items() if n]
    if rows:
        db.session.execute(
            upsert_adding(CohortMonthly.__table__, ("cohort", "month"), ("readers",)), rows
        )
        db.session.execute(sa.delete(CohortMonthly).where(CohortMonthly.readers <= 0))


def _month_of(day: date) -> date:
    return day.replace(day=1)


def _months(days) -> set[date]:
    return {_month_of(day) for day in days}
