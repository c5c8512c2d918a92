"""Points (积分): earned on paid purchases, spent for money off at checkout.

A reader's balance lives on their row (`readers.points_balance`) and every change to it is
a line in the ledger (`points_entries`) with the balance after it. A change is one UPDATE
that adds to the balance only while the result stays at or above 0 (and a CHECK says so
too): two checkouts spending the same points at once cannot both have them.

    earned    a purchase was paid                    (points_earn_per_yuan of what was paid)
    spent     taken off an order's price when it was placed
    returned  spent on an order that closed unpaid, or given back with a refund
    reversed  earned on an order that was refunded (as much as the balance still holds)

Refunds go in proportion: refunding half of an order returns half of what it spent and
takes back half of what it earned.
"""

from dataclasses import dataclass

import sqlalchemy as sa

from app.extensions import db
from app.models import Order, OrderStatus, PointsEntry, PointsKind, Reader, ShopProfile
from app.models.base import utcnow
from app.pricing.refusals import PriceRefused, PromotionInvalid

MAX_EARN_PER_YUAN = 100
MAX_POINTS_PER_YUAN = 100_000


@dataclass(frozen=True)
class PointsSettings:
    earn_per_yuan: int  # points a paid yuan earns; 0: none are earned
    per_yuan: int  # points that take ¥1 off; 0: points cannot be spent
    max_percent: int  # of an order's price, the most points may take off

    @property
    def earning(self) -> bool:
        return self.earn_per_yuan > 0

    @property
    def spending(self) -> bool:
        return self.per_yuan > 0 and self.max_percent > 0


def settings() -> PointsSettings:
    found = db.session.execute(
        sa.select(
            ShopProfile.points_earn_per_yuan,
            ShopProfile.points_per_yuan,
            ShopProfile.points_max_percent,
        )
    ).first()
    return PointsSettings(*found) if found is not None else PointsSettings(0, 100, 20)


def save_settings(earn_per_yuan: int, per_yuan: int, max_percent: int) -> PointsSettings:
    """The creator's rates, checked; the caller commits (and has made the profile row)."""
    if not 0 <= earn_per_yuan <= MAX_EARN_PER_YUAN:
        raise PromotionInvalid(f"每消费 1 元获得的积分须在 0 到 {MAX_EARN_PER_YUAN} 之间")
    if not 0 <= per_yuan <= MAX_POINTS_PER_YUAN:
        raise PromotionInvalid(f"抵扣 1 元所需积分须在 0 到 {MAX_POINTS_PER_YUAN} 之间")
    if not 0 <= max_percent <= 100:
        raise PromotionInvalid("积分最多抵扣的比例须在 0% 到 100% 之间")
    db.session.execute(
        sa.update(ShopProfile).values(
            points_earn_per_yuan=earn_per_yuan,
            points_per_yuan=per_yuan,
            points_max_percent=max_percent,
        )
    )
    return PointsSettings(earn_per_yuan, per_yuan, max_percent)


def balance(reader_id: int | None) -> int:
    if reader_id is None:
        return 0
    return db.session.scalar(sa.select(Reader.points_balance).where(Reader.id == reader_id)) or 0


@dataclass(frozen=True)
class Redemption:
    points: int  # what is taken from the balance
    fen: int  # what it takes off the price


def redemption(wanted: int, price_fen: int, rates: PointsSettings) -> Redemption:
    """What spending up to `wanted` points does to a price of `price_fen`: at most the
    shop's share of the price, in whole fen, for the fewest points that buy that."""
    if wanted <= 0 or not rates.spending:
        return Redemption(0, 0)
    cap_fen = price_fen * rates.max_percent // 100
    fen = min(wanted * 100 // rates.per_yuan, cap_fen)
    return Redemption(-(-fen * rates.per_yuan // 100), fen) if fen > 0 else Redemption(0, 0)


def most_usable(reader_id: int | None, price_fen: int, rates: PointsSettings) -> Redemption:
    """The most a reader's balance can take off this price (what the confirm page offers)."""
    return redemption(balance(reader_id), price_fen, rates)


def check_balance(reader_id: int | None, points: int, product_id: int) -> None:
    """Whether the reader has `points` to spend on this item. Those their open order for it
    spent count as theirs: placing that order again reuses it, or closes it (giving them
    back) before spending anew."""
    if not points:
        return
    held = 0
    if reader_id is not None:
        held = db.session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(Order.points_spent), 0)).where(
                Order.reader_id == reader_id,
                Order.product_id == product_id,
                Order.status == OrderStatus.PENDING,
            )
        )
    if balance(reader_id) + held < points:
        raise PriceRefused("points_insufficient", "积分不足")


# --- the ledger -----------------------------------------------------------------------------------

_readers = Reader.__table__
_entries = PointsEntry.__table__


def _change(
    connection: sa.Connection,
    reader_id: int,
    points: int,
    kind: PointsKind,
    order_id: int | None,
    *,
    at_most_balance: bool = False,
) -> int:
    """Add `points` (negative: take) to the balance with its ledger line; returns the
    change made. Taking more than the balance holds changes nothing and returns 0, unless
    `at_most_balance`: then what the balance holds is taken."""
    if points == 0:
        return 0
    if points < 0 and at_most_balance:
        held = connection.execute(
            sa.select(_readers.c.points_balance).where(_readers.c.id == reader_id)
        ).scalar_one()
        points = max(points, -held)
        if points == 0:
            return 0
    changed = connection.execute(
        sa.update(_readers)
        .where(_readers.c.id == reader_id, _readers.c.points_balance + points >= 0)
        .values(points_balance=_readers.c.points_balance + points)
        .returning(_readers.c.points_balance)
    ).first()
    if changed is None:
        return 0
    connection.execute(
        sa.insert(_entries).values(
            reader_id=reader_id,
            order_id=order_id,
            kind=kind.value,
            points=points,
            balance_after=changed.points_balance,
            created_at=utcnow(),
        )
    )
    return points


def spend(reader_id: int, order_id: int, points: int) -> None:
    """Take an order's points as it is placed; PriceRefused (the caller rolls the order
    back) when the balance no longer holds them."""
    if _change(db.session.connection(), reader_id, -points, PointsKind.SPENT, order_id) == 0:
        raise PriceRefused("points_insufficient", "积分不足")


def give_back_for_closed_order(order: Order) -> None:
    """An order closed unpaid: the points it spent go back."""
    if order.points_spent:
        _change(
            db.session.connection(),
            order.reader_id,
            order.points_spent,
            PointsKind.RETURNED,
            order.id,
        )


_ORDER_POINTS = sa.select(
    Order.__table__.c.reader_id,
    Order.__table__.c.amount_fen,
    Order.__table__.c.points_spent,
    Order.__table__.c.closed_at,
).where(Order.__table__.c.id == sa.bindparam("order_id"))


def settle_paid_order(connection: sa.Connection, order_id: int) -> None:
    """A purchase was paid: it earns points at the shop's rate, and if it had been closed
    (its points given back) WeChat took the discounted money after all, so its points
    are spent again, as far as the balance still holds them."""
    reader_id, amount_fen, spent, closed_at = connection.execute(
        _ORDER_POINTS, {"order_id": order_id}
    ).one()
    if spent and closed_at is not None:
        _change(connection, reader_id, -spent, PointsKind.SPENT, order_id, at_most_balance=True)
    earn_per_yuan = connection.execute(sa.select(ShopProfile.points_earn_per_yuan)).scalar()
    earned = amount_fen * (earn_per_yuan or 0) // 100
    if earned:
        _change(connection, reader_id, earned, PointsKind.EARNED, order_id)
        connection.execute(
            sa.update(Order.__table__)
            .where(Order.__table__.c.id == order_id)
            .values(points_earned=earned)
        )


def settle_refund(order: Order, refunded_before_fen: int) -> None:
    """A refund succeeded (the order's refunded_fen already includes it): give back the
    share of its spent points and take back the share of its earned ones that the refunded
    money now covers, beyond what earlier refunds did. Earned points already spent are
    taken only as far as the balance holds: it never goes below 0."""
    if not (order.points_spent or order.points_earned) or order.amount_fen == 0:
        return

    def share(points: int, refunded: int) -> int:
        return points * refunded // order.amount_fen

    connection = db.session.connection()
    returned = share(order.points_spent, order.refunded_fen) - share(
        order.points_spent, refunded_before_fen
    )
    _change(connection, order.reader_id, returned, PointsKind.RETURNED, order.id)
    reversed_ = share(order.points_earned, order.refunded_fen) - share(
        order.points_earned, refunded_before_fen
    )
    _change(
        connection,
        order.reader_id,
        -reversed_,
        PointsKind.REVERSED,
        order.id,
        at_most_balance=True,
    )


def history(reader_id: int, limit: int = 50) -> list[PointsEntry]:
    return list(
        db.session.scalars(
            sa.select(PointsEntry)
            .where(PointsEntry.reader_id == reader_id)
            .order_by(PointsEntry.id.desc())
            .limit(limit)
        )
    )


def move(from_reader_id: int, to_reader_id: int) -> None:
    """A guest merged into a WeChat reader: one person, one balance, one ledger."""
    moved = balance(from_reader_id)
    db.session.execute(
        sa.update(PointsEntry)
        .where(PointsEntry.reader_id == from_reader_id)
        .values(reader_id=to_reader_id)
        .execution_options(synchronize_session=False)
    )
    if moved:
        db.session.execute(
            sa.update(Reader)
            .where(Reader.id == to_reader_id)
            .values(points_balance=Reader.points_balance + moved)
            .execution_options(synchronize_session=False)
        )


def outstanding() -> int:
    """Points readers hold between them (the creator's liability)."""
    return db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(Reader.points_balance), 0)))
