"""What the promotion tools did, for the dashboard's 营销效果: money taken off by each kind of
discount, coupon use, each offer's lift in sales, points given and spent, gifts sent and
claimed, membership revenue and members now, and how readers pay for 随心付 items against
the suggestion.

Nothing here reads every order of the range (on the "all time" range of a shop with a
million orders, that took over a second): paid purchases are counted from the sales
rollup; discounted ones through a partial index that holds them alone; membership revenue
and 随心付 amounts read the orders of those (few) items alone, through the index on
product_id; points through their index by kind and time. Offer lift reads the item rollups.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import sqlalchemy as sa

from app.analytics.stats import DateRange
from app.extensions import db
from app.models import (
    WAS_PAID,
    Coupon,
    Gift,
    ItemSalesDaily,
    Membership,
    Offer,
    Order,
    OrderKind,
    PointsEntry,
    PointsKind,
    Product,
    ProductKind,
    Reader,
    SalesDaily,
)
from app.models.base import utcnow
from app.models.orders import DISCOUNTED

DISCOUNT_LABELS = {
    "offer": "限时优惠",
    "member": "会员价",
    "coupon": "优惠券",
    "points": "积分抵扣",
}
# How 随心付 amounts compare with the suggestion: the buckets the dashboard shows.
CHOSEN_BUCKETS = ("不到建议的一半", "低于建议", "等于建议", "高于建议")


@dataclass(frozen=True)
class Effects:
    discounts: pd.DataFrame  # kind, label, orders, fen: each kind of discount
    discounted_orders: int
    paid_orders: int
    coupons: pd.DataFrame  # code, name, uses, fen
    offers: pd.DataFrame  # title, price_fen, list_fen, starts, ends, per_day, per_day_before, lift
    points_earned: int
    points_spent: int
    points_outstanding: int
    gifts_sent: int  # gift links made (bought for a friend, or a free read passed on)
    gifts_claimed: int
    membership_fen: int  # paid for 会员 passes in the range, less what was refunded
    members_now: int  # readers with a pass running now
    chosen: pd.DataFrame  # title, suggested_fen, orders, median_fen, and a count per bucket

    @property
    def discount_fen(self) -> int:
        return int(self.discounts["fen"].sum())


def effects(period: DateRange, timezone: str) -> Effects:
    start, end = _utc_bounds(period, timezone)
    discounted = _discounted_purchases(start, end)
    return Effects(
        discounts=discounts_by_kind(discounted["price_lines"].tolist()),
        discounted_orders=len(discounted),
        paid_orders=_paid_purchases(period),
        coupons=_coupon_uses(discounted),
        offers=_offers(period, timezone),
        points_earned=_points(PointsKind.EARNED, start, end),
        points_spent=-_points(PointsKind.SPENT, start, end),
        points_outstanding=int(
            db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(Reader.points_balance), 0)))
        ),
        gifts_sent=_count(Gift.created_at, start, end),
        gifts_claimed=_count(Gift.claimed_at, start, end),
        membership_fen=_membership_fen(start, end),
        members_now=_members_now(),
        chosen=chosen_amounts(_chosen_orders(start, end)),
    )


def _product_ids(*where) -> list[int]:
    return db.session.scalars(sa.select(Product.id).where(*where)).all()


def _membership_fen(start: datetime, end: datetime) -> int:
    # By the plans' ids, so the index on product_id finds their orders (a join from the
    # products would read every order of the range); a shop without plans asks nothing.
    plan_ids = _product_ids(Product.kind == ProductKind.MEMBERSHIP)
    if not plan_ids:
        return 0
    return int(
        db.session.scalar(
            sa.select(
                sa.func.coalesce(sa.func.sum(Order.amount_fen - Order.refunded_fen), 0)
            ).where(
                Order.product_id.in_(plan_ids),
                Order.status.in_(WAS_PAID),
                Order.created_at >= start,
                Order.created_at < end,
            )
        )
    )


def _members_now() -> int:
    now = utcnow()
    return db.session.scalar(
        sa.select(sa.func.count(sa.distinct(Membership.reader_id))).where(
            Membership.starts_at <= now, Membership.ends_at > now, Membership.ended_at.is_(None)
        )
    )


def _count(moment, start: datetime, end: datetime) -> int:
    return db.session.scalar(sa.select(sa.func.count()).where(moment >= start, moment < end))


def _utc_bounds(period: DateRange, timezone: str) -> tuple[datetime, datetime]:
    zone = ZoneInfo(timezone)
    start = datetime.combine(period.first, time(), zone).astimezone(UTC)
    end = datetime.combine(period.last + timedelta(days=1), time(), zone).astimezone(UTC)
    return start, end


def _paid_purchases(period: DateRange) -> int:
    """How many purchases were paid in the range: the sales rollup's count, the figure of
    the 付费订单 card. The rollup dates a purchase by its payment where the discounted ones
    are dated by their order: the two differ by the few orders placed before a midnight at
    either end of the range and paid after it, and by payments not folded yet."""
    sales = SalesDaily.__table__.c
    return int(
        db.session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(sales.paid_count), 0)).where(
                sales.day >= period.first,
                sales.day <= period.last,
                sales.kind == OrderKind.PURCHASE.value,
            )
        )
    )


def _discounted_purchases(start: datetime, end: datetime) -> pd.DataFrame:
    """The lines and coupon of the range's paid purchases (by the time they were placed)
    with a discount: a coupon, points, or a price below the list price. The partial index
    ix_orders_discounted holds just those orders, so this reads them and no others; its
    condition is named here as the index has it, which is what SQLite needs to use it."""
    orders = Order.__table__.c
    rows = db.session.execute(
        sa.select(orders.price_lines, orders.coupon_id).where(
            orders.status.in_([s.value for s in WAS_PAID]),
            orders.created_at >= start,
            orders.created_at < end,
            orders.kind == OrderKind.PURCHASE.value,
            sa.text(f"({DISCOUNTED})"),
        )
    ).all()
    return pd.DataFrame(rows, columns=["price_lines", "coupon_id"])


def discounts_by_kind(price_lines: list[list[dict]]) -> pd.DataFrame:
    """Orders and fen taken off per kind of discount, from orders' price lines (a line's
    fen is negative); every kind listed."""
    taken = [
        (line["kind"], -line["fen"])
        for lines in price_lines
        for line in lines or []
        if line["kind"] in DISCOUNT_LABELS and line["fen"] < 0
    ]
    frame = pd.DataFrame(taken, columns=["kind", "fen"])
    table = (
        frame.groupby("kind")["fen"]
        .agg(orders="count", fen="sum")
        .reindex(list(DISCOUNT_LABELS), fill_value=0)
        .astype("int64")
    )
    table.insert(0, "label", [DISCOUNT_LABELS[kind] for kind in table.index])
    return table.reset_index()


def _coupon_uses(discounted: pd.DataFrame) -> pd.DataFrame:
    used = discounted["coupon_id"].dropna().astype("int64")
    if used.empty:
        return pd.DataFrame(columns=["code", "name", "uses", "fen"])
    per_order = pd.DataFrame(
        {
            "coupon_id": used.values,
            "fen": [
                -next(line["fen"] for line in lines if line["kind"] == "coupon")
                for lines in discounted.loc[used.index, "price_lines"]
            ],
        }
    )
    table = per_order.groupby("coupon_id")["fen"].agg(uses="count", fen="sum").reset_index()
    names = {
        row.id: (row.code, row.name)
        for row in db.session.execute(
            sa.select(Coupon.id, Coupon.code, Coupon.name).where(
                Coupon.id.in_(table["coupon_id"].tolist())
            )
        )
    }
    table["code"] = [names[i][0] for i in table["coupon_id"]]
    table["name"] = [names[i][1] for i in table["coupon_id"]]
    return table.sort_values(["fen", "uses"], ascending=False)[["code", "name", "uses", "fen"]]


def _offers(period: DateRange, timezone: str) -> pd.DataFrame:
    """Offers that ran during the range, each with its paid orders a day while it ran and
    in as many days just before it (the item rollups), and the lift between the two."""
    zone = ZoneInfo(timezone)
    start, end = _utc_bounds(period, timezone)
    found = db.session.execute(
        sa.select(
            Offer.product_id,
            Product.title,
            Offer.price_fen,
            Product.price_fen,
            Offer.starts_at,
            Offer.ends_at,
        )
        .join(Product, Product.id == Offer.product_id)
        .where(Offer.starts_at < end, Offer.ends_at > start)
        .order_by(Offer.starts_at.desc())
    ).all()
    rows = []
    for product_id, title, price_fen, list_fen, starts_at, ends_at in found:
        first = starts_at.astimezone(zone).date()
        last = min(ends_at.astimezone(zone).date(), period.last)
        days = (last - first).days + 1
        during = _paid_count(product_id, first, last)
        before = _paid_count(product_id, first - timedelta(days=days), first - timedelta(days=1))
        rows.append((title, price_fen, list_fen, starts_at, ends_at, during / days, before / days))
    table = pd.DataFrame(
        rows,
        columns=["title", "price_fen", "list_fen", "starts", "ends", "per_day", "per_day_before"],
    )
    table["lift"] = offer_lift(table["per_day"], table["per_day_before"])
    return table


def offer_lift(during: pd.Series, before: pd.Series) -> pd.Series:
    """During / before - 1 (0.5: half as many orders again a day); NaN where there were
    none before, where a ratio would say nothing."""
    before = before.astype(float).replace(0.0, np.nan)
    return during.astype(float) / before - 1.0


def _paid_count(product_id: int, first: date, last: date) -> int:
    return int(
        db.session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(ItemSalesDaily.paid_count), 0)).where(
                ItemSalesDaily.product_key == product_id,
                ItemSalesDaily.kind == OrderKind.PURCHASE.value,
                ItemSalesDaily.day >= first,
                ItemSalesDaily.day <= last,
            )
        )
    )


def _points(kind: PointsKind, start: datetime, end: datetime) -> int:
    return int(
        db.session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(PointsEntry.points), 0)).where(
                PointsEntry.kind == kind,
                PointsEntry.created_at >= start,
                PointsEntry.created_at < end,
            )
        )
    )


def _chosen_orders(start: datetime, end: datetime) -> pd.DataFrame:
    # As for the membership revenue: the 随心付 items' ids first, for the index on product_id.
    chosen_ids = _product_ids(Product.pay_what_you_want)
    if not chosen_ids:
        return pd.DataFrame(columns=["title", "suggested_fen", "amount_fen"])
    rows = db.session.execute(
        sa.select(Product.title, Product.price_fen, Order.amount_fen)
        .join(Product, Product.id == Order.product_id)
        .where(
            Order.product_id.in_(chosen_ids),
            Order.kind == OrderKind.PURCHASE,
            Order.status.in_(WAS_PAID),
            Order.created_at >= start,
            Order.created_at < end,
        )
    ).all()
    return pd.DataFrame(rows, columns=["title", "suggested_fen", "amount_fen"])


def chosen_amounts(paid: pd.DataFrame) -> pd.DataFrame:
    """Per 随心付 item (`paid`: title, suggested_fen, amount_fen per paid order): how many
    paid, the median amount, and how many paid in each bucket against the suggestion."""
    columns = ["title", "suggested_fen", "orders", "median_fen", *CHOSEN_BUCKETS]
    if paid.empty:
        return pd.DataFrame(columns=columns)
    amount, suggested = paid["amount_fen"].to_numpy(), paid["suggested_fen"].to_numpy()
    bucket = np.select(
        [amount * 2 < suggested, amount < suggested, amount == suggested],
        [0, 1, 2],
        default=3,
    )
    frame = paid.assign(bucket=pd.Categorical.from_codes(bucket, CHOSEN_BUCKETS))
    counts = frame.groupby(["title", "suggested_fen", "bucket"], observed=False).size().unstack()
    summary = frame.groupby(["title", "suggested_fen"])["amount_fen"].agg(
        orders="count", median_fen="median"
    )
    table = summary.join(counts).reset_index()
    table["median_fen"] = table["median_fen"].round().astype("int64")
    return table[columns].sort_values("orders", ascending=False)
