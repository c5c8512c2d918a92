"""Orders, their payment events, and refunds. Money is int fen; times are UTC."""

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import UTCDateTime, db, str_enum, utcnow
from app.models.catalog import Product
from app.models.readers import Reader


class OrderStatus(enum.StrEnum):
    PENDING = "pending"
    PAID = "paid"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return {
            "pending": "待支付",
            "paid": "已支付",
            "partially_refunded": "部分退款",
            "refunded": "已退款",
            "closed": "已关闭",
        }[self.value]


class OrderKind(enum.StrEnum):
    """What the money is for: buying an item (grants access) or a tip (never does)."""

    PURCHASE = "purchase"
    TIP = "tip"

    @property
    def label(self) -> str:
        return {"purchase": "购买", "tip": "赞赏"}[self.value]


# Orders that hold the reader's money now: paid and not refunded in full. Only these can be
# refunded, and only these still count: as a purchase that keeps access, as a sale for the
# recommendations, as a tip on the supporter walls.
HOLDS_MONEY = (OrderStatus.PAID, OrderStatus.PARTIALLY_REFUNDED)
# Orders that took the reader's money, whatever came after (a full refund included): their
# amount counts as paid in the books and the totals, their refunds as money back.
WAS_PAID = (*HOLDS_MONEY, OrderStatus.REFUNDED)


class PayChannel(enum.StrEnum):
    """Where the reader pays: inside WeChat, another phone browser, or a desktop QR."""

    JSAPI = "jsapi"
    H5 = "h5"
    NATIVE = "native"
    # A price brought to 0 (a coupon for the whole of it): the order is paid when placed,
    # and WeChat never hears of it.
    NONE = "none"

    @property
    def trade_type(self) -> str:
        return {"jsapi": "JSAPI", "h5": "MWEB", "native": "NATIVE"}[self.value]

    @property
    def label(self) -> str:
        return {
            "jsapi": "微信内支付",
            "h5": "手机浏览器支付",
            "native": "扫码支付",
            "none": "无需支付",
        }[self.value]


class OrderSource(enum.StrEnum):
    """What brought the reader to order (app/sharing/attribution.py decides)."""

    MENU = "menu"  # a link in the 公众号's menu
    REPLY = "reply"  # the cards the 公众号 answers a follow or a menu click with
    SEARCH = "search"  # the cards the 公众号 answers a keyword with
    SHARE = "share"  # a share card in a chat or Moments, or a copied share link
    POSTER = "poster"  # a poster's QR code (or the welcome after following through one)
    DIRECT = "direct"  # none of these within the window

    @property
    def label(self) -> str:
        return {
            "menu": "公众号菜单",
            "reply": "公众号回复",
            "search": "公众号搜索",
            "share": "分享链接",
            "poster": "分享海报",
            "direct": "直接访问",
        }[self.value]


OPEN_OWN_PURCHASE = "status = 'pending' AND kind = 'purchase' AND NOT is_gift"
# An order something took money off (a coupon, points, an offer or a member price). Written
# once, as text: SQLite uses a partial index only for a query that names its condition as is.
DISCOUNTED = "coupon_id IS NOT NULL OR points_spent > 0 OR list_price_fen != amount_fen"


class Order(db.Model):
    __tablename__ = "orders"
    __table_args__ = (
        # Only an order that WeChat never sees may be for nothing, and it must be.
        sa.CheckConstraint("amount_fen > 0 OR channel = 'none'", name="amount_positive"),
        sa.CheckConstraint("channel != 'none' OR amount_fen = 0", name="unpaid_channel_is_free"),
        sa.CheckConstraint(
            "refunded_fen >= 0 AND refunded_fen <= amount_fen", name="refund_within_amount"
        ),
        # A purchase is of an item; a tip may be for the creator as a whole (no item).
        sa.CheckConstraint("kind = 'tip' OR product_id IS NOT NULL", name="purchase_has_product"),
        # One open purchase per reader and product: a double click finds the first one. Tips
        # are not limited: two open tips are two gifts, and paying both is what the reader
        # chose; nor are items bought as gifts (请朋友读), for as many friends as they like.
        sa.Index(
            "uq_orders_open_per_reader_product",
            "reader_id",
            "product_id",
            unique=True,
            sqlite_where=sa.text(OPEN_OWN_PURCHASE),
            postgresql_where=sa.text(OPEN_OWN_PURCHASE),
        ),
        # The few orders with a discount, by status and time: what the dashboard's 营销效果
        # reads (app/analytics/promotions.py) without touching the rest of a large shop.
        sa.Index(
            "ix_orders_discounted",
            "status",
            "created_at",
            sqlite_where=sa.text(DISCOUNTED),
            postgresql_where=sa.text(DISCOUNTED),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    out_trade_no: Mapped[str] = mapped_column(sa.String(32), unique=True)
    reader_id: Mapped[int] = mapped_column(sa.ForeignKey("readers.id"), index=True)
    kind: Mapped[OrderKind] = mapped_column(
        str_enum(OrderKind, "order_kind"),
        default=OrderKind.PURCHASE,
        server_default=OrderKind.PURCHASE.value,
    )
    product_id: Mapped[int | None] = mapped_column(sa.ForeignKey("products.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(120))  # snapshot: what the reader bought
    amount_fen: Mapped[int]  # snapshot of the price when the order was made
    # The price before anything took from it, and the lines that took from it (the confirm
    # page's, app/pricing/rule.py), as they were when the order was made.
    list_price_fen: Mapped[int] = mapped_column(
        default=lambda context: context.get_current_parameters()["amount_fen"]
    )
    price_lines: Mapped[list] = mapped_column(sa.JSON, default=list, server_default="[]")
    coupon_id: Mapped[int | None] = mapped_column(sa.ForeignKey("coupons.id"), index=True)
    # 积分 the order took off its price, and those its payment earned (app/pricing/points.py).
    points_spent: Mapped[int] = mapped_column(default=0, server_default="0")
    points_earned: Mapped[int] = mapped_column(default=0, server_default="0")
    # Bought for someone else: paying it makes a gift link (app/pricing/gifts.py) instead of
    # giving the buyer the item.
    is_gift: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    channel: Mapped[PayChannel] = mapped_column(str_enum(PayChannel, "pay_channel"))
    status: Mapped[OrderStatus] = mapped_column(
        str_enum(OrderStatus, "order_status"), default=OrderStatus.PENDING, index=True
    )
    client_ip: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    close_reason: Mapped[str | None] = mapped_column(sa.String(40))
    transaction_id: Mapped[str | None] = mapped_column(sa.String(32), unique=True)
    payer_openid: Mapped[str | None] = mapped_column(sa.String(64))
    prepay_id: Mapped[str | None] = mapped_column(sa.String(64))
    prepay_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when WeChat last gave it
    code_url: Mapped[str | None] = mapped_column(sa.String(256))
    mweb_url: Mapped[str | None] = mapped_column(sa.String(512))
    refunded_fen: Mapped[int] = mapped_column(default=0)
    last_queried_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The recommendation slot the reader came from (their last click on this item), if any.
    rec_slot: Mapped[str | None] = mapped_column(sa.String(20))
    # What brought the reader (their last touch within the attribution window), and the
    # reader whose share card or poster it was, if any.
    source: Mapped[OrderSource] = mapped_column(
        str_enum(OrderSource, "order_source"),
        default=OrderSource.DIRECT,
        server_default=OrderSource.DIRECT.value,
    )
    sharer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("readers.id", ondelete="SET NULL"))

    reader: Mapped[Reader] = relationship(foreign_keys=[reader_id])
    product: Mapped[Product | None] = relationship()
    tip: Mapped["Tip | None"] = relationship(back_populates="order")
    events: Mapped[list["PaymentEvent"]] = relationship(
        back_populates="order", order_by="PaymentEvent.id"
    )
    refunds: Mapped[list["Refund"]] = relationship(back_populates="order", order_by="Refund.id")

    @property
    def is_open(self) -> bool:
        return self.status is OrderStatus.PENDING and self.expires_at > utcnow()

    @property
    def is_tip(self) -> bool:
        return self.kind is OrderKind.TIP

    @property
    def holds_money(self) -> bool:
        return self.status in HOLDS_MONEY


class PaymentEventKind(enum.StrEnum):
    """What a payment event records. The rollups read created, paid and refund_success."""

    CREATED = "created"
    PREPAY = "prepay"
    PREPAY_FAILED = "prepay_failed"
    PAID = "paid"
    PAYMENT_DUPLICATE = "payment_duplicate"
    PAYMENT_REJECTED = "payment_rejected"
    PAYMENT_FOR_UNKNOWN_ORDER = "payment_for_unknown_order"
    NOTIFICATION_REFUSED = "notification_refused"
    QUERIED = "queried"
    CLOSED = "closed"
    REFUND_CONFIRMED = "refund_confirmed"  # the studio's confirm page claimed its token
    REFUND_REQUESTED = "refund_requested"
    REFUND_ACCEPTED = "refund_accepted"
    REFUND_OUTCOME_UNKNOWN = "refund_outcome_unknown"
    REFUND_FAILED = "refund_failed"
    REFUND_OUTSIDE = "refund_outside"  # made in 商户平台, recorded when WeChat told of it
    REFUND_FOR_UNKNOWN_REFUND = "refund_for_unknown_refund"
    REFUND_SUCCESS = "refund_success"
    REFUND_CLOSED = "refund_closed"
    REFUND_CHANGE = "refund_change"
    ACCESS_REVOKED = "access_revoked"

    @property
    def label(self) -> str:
        return {
            "created": "下单",
            "prepay": "获取预支付",
            "prepay_failed": "预支付失败",
            "paid": "支付成功",
            "payment_duplicate": "重复的支付结果",
            "payment_rejected": "拒绝支付结果",
            "payment_for_unknown_order": "未知订单的支付结果",
            "notification_refused": "拒绝支付通知",
            "queried": "查询订单",
            "closed": "关闭订单",
            "refund_confirmed": "后台确认退款",
            "refund_requested": "记录退款申请",
            "refund_accepted": "微信受理退款",
            "refund_outcome_unknown": "退款结果未知，待查询",
            "refund_failed": "退款失败",
            "refund_outside": "商户平台退款",
            "refund_for_unknown_refund": "无法记入的退款",
            "refund_success": "退款成功",
            "refund_closed": "退款关闭",
            "refund_change": "退款异常",
            "access_revoked": "收回访问权限",
        }[self.value]


class PaymentEvent(db.Model):
    """The audit trail: every step an order's payment took, and every refusal with its reason."""

    __tablename__ = "payment_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orders.id"), index=True)
    # A PaymentEventKind's value. The column is plain text, not an enum column, so a new kind
    # needs no migration; `label` shows a kind it does not know as it was stored.
    kind: Mapped[str] = mapped_column(sa.String(40))
    detail: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    order: Mapped[Order | None] = relationship(back_populates="events")

    @property
    def label(self) -> str:
        """The step in words, for the audit trail."""
        try:
            return PaymentEventKind(self.kind).label
        except ValueError:
            return self.kind


class Tip(db.Model):
    """What a tip says beyond its order: the reader's message and how the wall shows it."""

    __tablename__ = "tips"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id"), unique=True)
    # Plain text, escaped wherever shown; hidden by the creator when message_hidden_at is set.
    message: Mapped[str] = mapped_column(sa.String(100), default="")
    is_anonymous: Mapped[bool] = mapped_column(default=False)
    # The name the reader signed with; else the wall uses the name they chose, or WeChat's.
    display_name: Mapped[str] = mapped_column(sa.String(20), default="")
    message_hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The tip form's one-time token: a double submit finds the first order instead of a second.
    request_token: Mapped[str] = mapped_column(sa.String(43), unique=True)

    order: Mapped[Order] = relationship(back_populates="tip")


class RefundStatus(enum.StrEnum):
    PROCESSING = "processing"
    SUCCESS = "success"
    CLOSED = "closed"  # WeChat's REFUNDCLOSE
    CHANGE = "change"  # WeChat's CHANGE: needs manual handling in the merchant platform
    FAILED = "failed"  # refused when requested; nothing was refunded

    @property
    def label(self) -> str:
        return {
            "processing": "退款中",
            "success": "已退款",
            "closed": "退款关闭",
            "change": "退款异常",
            "failed": "退款失败",
        }[self.value]


class Refund(db.Model):
    __tablename__ = "refunds"
    __table_args__ = (sa.CheckConstraint("amount_fen > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id"), index=True)
    out_refund_no: Mapped[str] = mapped_column(sa.String(64), unique=True)
    amount_fen: Mapped[int]
    reason: Mapped[str] = mapped_column(sa.String(80), default="")
    status: Mapped[RefundStatus] = mapped_column(
        str_enum(RefundStatus, "refund_status"), default=RefundStatus.PROCESSING
    )
    refund_id: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    order: Mapped[Order] = relationship(back_populates="refunds")


class BillCheck(db.Model):
    """The day's comparison of WeChat's bill (对账单) with the shop, kept so its differences
    reach the creator: a banner on every studio page until they are marked handled."""

    __tablename__ = "bill_checks"

    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)  # a Beijing day, as WeChat's
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # [{"out_trade_no": ..., "problem": ..., "demo": bool}]: a demo order's note (an order only
    # the shop has, by design) is listed but is not a difference.
    differences: Mapped[list] = mapped_column(sa.JSON, default=list)
    error: Mapped[str] = mapped_column(sa.String(200), default="")  # the bill could not be had
    notice: Mapped[str] = mapped_column(sa.String(200), default="")  # what became of the message
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def real_differences(self) -> list[dict]:
        return [d for d in self.differences if not d.get("demo")]

    @property
    def needs_attention(self) -> bool:
        return self.handled_at is None and bool(self.real_differences or self.error)
