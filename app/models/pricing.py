"""What can change a price: limited-time offers (限时优惠), coupons (优惠券) with the uses
reserved against them, and the points (积分) ledger; and gifts (请朋友读). Money is int fen;
times are UTC. The rule that combines them lives in app/pricing/rule.py."""

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import UTCDateTime, db, str_enum, utcnow
from app.models.catalog import Product
from app.models.readers import Reader


class Offer(db.Model):
    """A sale price for one item between two moments."""

    __tablename__ = "offers"
    __table_args__ = (
        sa.CheckConstraint("price_fen > 0", name="offer_price_positive"),
        sa.CheckConstraint("ends_at > starts_at", name="offer_ends_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(
        sa.ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    price_fen: Mapped[int]
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    product: Mapped[Product] = relationship()


class CouponKind(enum.StrEnum):
    AMOUNT = "amount"  # so many fen off
    PERCENT = "percent"  # so many percent off

    @property
    def label(self) -> str:
        return {"amount": "立减", "percent": "折扣"}[self.value]


coupon_products = sa.Table(
    "coupon_products",
    db.metadata,
    sa.Column("coupon_id", sa.ForeignKey("coupons.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("product_id", sa.ForeignKey("products.id", ondelete="CASCADE"), primary_key=True),
)


class Coupon(db.Model):
    """A code a reader types at checkout.

    `used_count` counts the uses reserved by open orders and kept by paid ones; it is what
    the total limit is checked against, in the same UPDATE that takes a use, so concurrent
    checkouts can never take more than `total_limit`.
    """

    __tablename__ = "coupons"
    __table_args__ = (
        sa.CheckConstraint(
            "(kind = 'amount' AND amount_off_fen > 0 AND percent_off IS NULL)"
            " OR (kind = 'percent' AND percent_off BETWEEN 1 AND 100 AND amount_off_fen IS NULL)",
            name="coupon_discount_fits_kind",
        ),
        sa.CheckConstraint("min_spend_fen >= 0", name="coupon_min_spend_not_negative"),
        sa.CheckConstraint("per_reader_limit >= 1", name="coupon_per_reader_at_least_one"),
        sa.CheckConstraint("total_limit IS NULL OR total_limit >= 1", name="coupon_total_limit"),
        sa.CheckConstraint("used_count >= 0", name="coupon_used_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(20), unique=True)  # upper case, [A-Z0-9]
    name: Mapped[str] = mapped_column(sa.String(40), default="")  # what the studio calls it
    kind: Mapped[CouponKind] = mapped_column(str_enum(CouponKind, "coupon_kind"))
    amount_off_fen: Mapped[int | None]
    percent_off: Mapped[int | None]
    min_spend_fen: Mapped[int] = mapped_column(default=0)
    for_all_items: Mapped[bool] = mapped_column(default=True)
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    total_limit: Mapped[int | None]
    per_reader_limit: Mapped[int] = mapped_column(default=1)
    used_count: Mapped[int] = mapped_column(default=0)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    products: Mapped[list[Product]] = relationship(secondary=coupon_products)


class CouponUseStatus(enum.StrEnum):
    """reserved (an open order holds it) -> kept (paid) | released (closed unpaid);
    released -> kept when WeChat takes the money after the order was closed."""

    RESERVED = "reserved"
    KEPT = "kept"
    RELEASED = "released"


class CouponUse(db.Model):
    __tablename__ = "coupon_uses"

    id: Mapped[int] = mapped_column(primary_key=True)
    coupon_id: Mapped[int] = mapped_column(sa.ForeignKey("coupons.id"), index=True)
    reader_id: Mapped[int] = mapped_column(sa.ForeignKey("readers.id"), index=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id"), unique=True)
    discount_fen: Mapped[int]
    status: Mapped[CouponUseStatus] = mapped_column(
        str_enum(CouponUseStatus, "coupon_use_status"), default=CouponUseStatus.RESERVED
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PointsKind(enum.StrEnum):
    EARNED = "earned"  # a purchase was paid
    SPENT = "spent"  # taken off an order's price
    RETURNED = "returned"  # spent on an order that closed unpaid or was refunded
    REVERSED = "reversed"  # earned on an order that was refunded

    @property
    def label(self) -> str:
        return {
            "earned": "购买获得",
            "spent": "下单抵扣",
            "returned": "退回",
            "reversed": "退款扣回",
        }[self.value]


class PointsEntry(db.Model):
    """One change to a reader's points, with the balance it left (readers.points_balance)."""

    __tablename__ = "points_entries"
    __table_args__ = (
        sa.CheckConstraint("balance_after >= 0", name="points_never_negative"),
        # What was given or spent in a range (the dashboard), without reading the whole ledger.
        sa.Index("ix_points_entries_kind_created_at", "kind", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reader_id: Mapped[int] = mapped_column(sa.ForeignKey("readers.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orders.id"), index=True)
    kind: Mapped[PointsKind] = mapped_column(str_enum(PointsKind, "points_kind"))
    points: Mapped[int]  # added (negative: taken)
    balance_after: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Gift(db.Model):
    """An item for whoever claims it first (app/pricing/gifts.py): bought for a friend (an
    order), or a buyer's one free read of an article to pass on (no order)."""

    __tablename__ = "gifts"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(sa.String(40), unique=True)  # the link's secret
    order_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orders.id"), unique=True)
    giver_id: Mapped[int] = mapped_column(sa.ForeignKey("readers.id"), index=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    claimed_by: Mapped[int | None] = mapped_column(sa.ForeignKey("readers.id"), index=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # its order was refunded

    product: Mapped[Product] = relationship()
    giver: Mapped[Reader] = relationship(foreign_keys=[giver_id])
    claimer: Mapped[Reader | None] = relationship(foreign_keys=[claimed_by])


class Membership(db.Model):
    """A reader's pass (a 会员 plan bought) for a stretch of time. Buying again adds a
    stretch starting where the last one ends; a refund ends its stretch (ended_at)."""

    __tablename__ = "memberships"
    __table_args__ = (
        sa.CheckConstraint("ends_at > starts_at", name="membership_ends_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reader_id: Mapped[int] = mapped_column(sa.ForeignKey("readers.id"), index=True)
    plan_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orders.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # a refund ended it early
    # When the reader was told this stretch, the last of their pass, ends soon.
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    plan: Mapped[Product] = relationship()
