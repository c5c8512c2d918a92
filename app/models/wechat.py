"""What the shop keeps of WeChat's server API (its access token and tickets), of the messages
WeChat pushes to it, of its 带参数二维码, of who follows the 公众号, and of the messages it
sends."""

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import UTCDateTime, db, str_enum, utcnow
from app.models.orders import Order


class WeChatApiToken(db.Model):
    """One credential WeChat hands out for a while (the access token), shared by every
    worker, process and server of the shop. `refreshing_until` is a lease: the one process
    fetching a new value holds it, the others keep using the current value meanwhile."""

    __tablename__ = "wechat_api_tokens"

    name: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    value: Mapped[str | None] = mapped_column(sa.Text)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refreshing_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WeChatMessageSeen(db.Model):
    """A message or event the callback has answered: WeChat sends it again after 5 s without
    an answer (three times in all), and a repeat must not be answered twice."""

    __tablename__ = "wechat_messages_seen"

    key: Mapped[str] = mapped_column(sa.String(160), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WeChatQrCode(db.Model):
    """A temporary 带参数二维码 WeChat made for a scene (a poster's item and sharer), kept so
    the same poster gets the same code until it nears its end instead of a new one per view."""

    __tablename__ = "wechat_qr_codes"

    scene: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    ticket: Mapped[str] = mapped_column(sa.String(200))
    url: Mapped[str] = mapped_column(sa.String(300))  # what the QR code says
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WeChatFollower(db.Model):
    """What the shop knows of one WeChat user and the 公众号, learnt from the callback's
    subscribe / unsubscribe events and messages, and from user/info when it had to ask.

    `subscribed` is None until the shop is told. `last_interaction_at` is the last message or
    event that opens WeChat's 48-hour window for customer-service messages; unfollowing
    closes it (None)."""

    __tablename__ = "wechat_followers"

    openid: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    subscribed: Mapped[bool | None] = mapped_column()
    subscribed_known_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_interaction_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


class MessageRecipient(enum.StrEnum):
    BUYER = "buyer"
    CREATOR = "creator"

    @property
    def label(self) -> str:
        return {"buyer": "读者", "creator": "创作者"}[self.value]


class MessageKind(enum.StrEnum):
    """What the message tells: a paid purchase, or a paid tip."""

    PURCHASE = "purchase"
    TIP = "tip"

    @property
    def label(self) -> str:
        return {"purchase": "购买", "tip": "赞赏"}[self.value]


class MessageStatus(enum.StrEnum):
    QUEUED = "queued"
    RETRYING = "retrying"  # an attempt failed for a passing reason; another is due later
    SENT = "sent"
    SKIPPED = "skipped"  # nothing could be sent by WeChat's rules (the reason says which)
    FAILED = "failed"  # WeChat refused for good, or every attempt failed

    @property
    def label(self) -> str:
        return {
            "queued": "待发送",
            "retrying": "等待重试",
            "sent": "已发送",
            "skipped": "未发送",
            "failed": "发送失败",
        }[self.value]


class MessageChannel(enum.StrEnum):
    TEMPLATE = "template"  # 模板消息: to followers, any time
    CUSTOM = "custom"  # 客服消息: within 48 hours of the user's last interaction

    @property
    def label(self) -> str:
        return {"template": "模板消息", "custom": "客服消息"}[self.value]


class OutboxMessage(db.Model):
    """One message the 公众号 owes someone about a paid order, and how sending it went.

    Queued in the transaction that marks the order paid (so a paid order always has its
    messages and a rolled-back payment none), sent after the commit. `next_attempt_at` is set
    while the row waits to be sent (queued or retrying) and None once it is settled;
    `claimed_until` is the lease of the one sender working on it."""

    __tablename__ = "wechat_outbox"
    __table_args__ = (sa.UniqueConstraint("order_id", "recipient", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The messages belong to their order: an order deleted (say, by restoring an older
    # backup) takes them along.
    order_id: Mapped[int] = mapped_column(
        sa.ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    recipient: Mapped[MessageRecipient] = mapped_column(
        str_enum(MessageRecipient, "message_recipient")
    )
    kind: Mapped[MessageKind] = mapped_column(str_enum(MessageKind, "message_kind"))
    status: Mapped[MessageStatus] = mapped_column(
        str_enum(MessageStatus, "message_status"), default=MessageStatus.QUEUED
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    channel: Mapped[MessageChannel | None] = mapped_column(
        str_enum(MessageChannel, "message_channel")
    )
    openid: Mapped[str | None] = mapped_column(sa.String(64))
    errcode: Mapped[int | None] = mapped_column()  # WeChat's, when WeChat answered one
    errmsg: Mapped[str] = mapped_column(sa.String(200), default="")  # the reason, for people
    msgid: Mapped[str | None] = mapped_column(sa.String(32))  # a template message's id
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    order: Mapped[Order] = relationship()
