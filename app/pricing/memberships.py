"""Memberships (会员): passes for a number of days to every item, or to chosen ones.

A plan is a product of kind "membership" (its price, its days, the items it opens; none
named: every published item). Paying for a plan adds a stretch of time to the reader's
membership of it, starting where their last stretch ends (buying again extends it) or now.
While a stretch runs, the items the plan opens count as the reader's: the one place that
says what a reader has (app/catalog/entitlements.py) adds them, so pages, the page cache's
keys and downloads all follow, and access ends on time with nothing to run.
A refund of a plan ends its stretch and moves the stretches after it back.
"""

from datetime import datetime, timedelta

import sqlalchemy as sa

from app.extensions import db
from app.models import Membership, Order
from app.models.base import utcnow

_memberships = Membership.__table__


def grant_for_paid_order(
    connection: sa.Connection, order_id: int, reader_ids: set[int], plan_id: int, days: int
) -> None:
    """A plan was paid: each reader it is for gets `days` more, from where their current
    stretch of this plan ends, or from now."""
    now = utcnow()
    for reader_id in sorted(reader_ids):
        last_end = connection.execute(
            sa.select(sa.func.max(_memberships.c.ends_at)).where(
                _memberships.c.reader_id == reader_id,
                _memberships.c.plan_id == plan_id,
                _memberships.c.ended_at.is_(None),
            )
        ).scalar()
        starts_at = max(now, _aware(last_end)) if last_end is not None else now
        connection.execute(
            sa.insert(_memberships).values(
                reader_id=reader_id,
                plan_id=plan_id,
                order_id=order_id,
                starts_at=starts_at,
                ends_at=starts_at + timedelta(days=days),
                created_at=now,
            )
        )


def _aware(moment: datetime) -> datetime:
    """A time read through a Core column on SQLite comes back as the type processes it:
    aware UTC (UTCDateTime); kept explicit for the comparison with now."""
    return moment if moment.tzinfo else moment.replace(tzinfo=utcnow().tzinfo)


def end_for_refunded_order(order: Order) -> None:
    """A plan's order was refunded in full: its stretches end now (or never begin), and the
    reader's later stretches of the plan move back by the time it gave up."""
    now = utcnow()
    for stretch in db.session.scalars(
        sa.select(Membership).where(Membership.order_id == order.id, Membership.ended_at.is_(None))
    ):
        given_up = stretch.ends_at - max(stretch.starts_at, now)
        later = db.session.scalars(
            sa.select(Membership).where(
                Membership.reader_id == stretch.reader_id,
                Membership.plan_id == stretch.plan_id,
                Membership.ended_at.is_(None),
                Membership.starts_at >= stretch.ends_at,
            )
        ).all()
        stretch.ended_at = now
        stretch.ends_at = max(stretch.starts_at + timedelta(seconds=1), min(stretch.ends_at, now))
        for after in later:
            after.starts_at -= given_up
            after.ends_at -= given_up
    db.session.flush()


def for_reader(reader_id: int) -> list[Membership]:
    """A reader's stretches, the latest first (我的会员)."""
    return list(
        db.session.scalars(
            sa.select(Membership)
            .where(Membership.reader_id == reader_id, Membership.ended_at.is_(None))
            .order_by(Membership.ends_at.desc())
        )
    )


def current_end(reader_id: int, plan_id: int) -> datetime | None:
    """When the reader's membership of a plan ends, counting stretches bought ahead."""
    found = db.session.scalar(
        sa.select(sa.func.max(Membership.ends_at)).where(
            Membership.reader_id == reader_id,
            Membership.plan_id == plan_id,
            Membership.ended_at.is_(None),
            Membership.ends_at > utcnow(),
        )
    )
    return found


def move(from_reader_id: int, to_reader_id: int) -> None:
    """A guest merged into a WeChat reader: their stretches are the person's."""
    db.session.execute(
        sa.update(Membership)
        .where(Membership.reader_id == from_reader_id)
        .values(reader_id=to_reader_id)
        .execution_options(synchronize_session=False)
    )
