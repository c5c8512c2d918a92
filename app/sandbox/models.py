"""The sandbox's own state: test WeChat users, OAuth grants, and WeChat Pay's side of payments.

Kept in tables prefixed sandbox_ so that nothing in the shop reads them: the shop only
learns about these users and payments through WeChat's protocols, as it would from WeChat.
"""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import UTCDateTime, db, utcnow


class SandboxUser(db.Model):
    __tablename__ = "sandbox_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    openid: Mapped[str] = mapped_column(sa.String(64), unique=True)
    nickname: Mapped[str] = mapped_column(sa.String(64))
    sex: Mapped[int] = mapped_column(default=0)  # 1 male, 2 female, 0 unknown, as WeChat says
    city: Mapped[str] = mapped_column(sa.String(40), default="")
    province: Mapped[str] = mapped_column(sa.String(40), default="")
    country: Mapped[str] = mapped_column(sa.String(40), default="中国")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SandboxOAuthGrant(db.Model):
    """One authorisation: a single-use code, then the access and refresh tokens it bought."""

    __tablename__ = "sandbox_oauth_grants"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("sandbox_users.id", ondelete="CASCADE"))
    appid: Mapped[str] = mapped_column(sa.String(32))
    scope: Mapped[str] = mapped_column(sa.String(20))
    # Set when WeChat showed the page as a 朋友圈 snapshot page (快照页): the grant then names
    # this stand-in openid, never the user's own.
    snapshot_openid: Mapped[str | None] = mapped_column(sa.String(64))
    code: Mapped[str] = mapped_column(sa.String(64), unique=True)
    code_expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    code_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    access_token: Mapped[str | None] = mapped_column(sa.String(128), unique=True)
    access_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refresh_token: Mapped[str | None] = mapped_column(sa.String(128), unique=True)
    refresh_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[SandboxUser] = relationship()


# --- WeChat Pay: what WeChat knows about the merchant's orders --------------------------------
# Money is int fen, as on the wire. Times WeChat was given or gives out in Beijing time
# (time_start, time_expire, time_end) are kept as those strings; our own times are UTC.


class SandboxPayOrder(db.Model):
    """One out_trade_no as 统一下单 created it, and what became of it."""

    __tablename__ = "sandbox_pay_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    appid: Mapped[str] = mapped_column(sa.String(32))
    mch_id: Mapped[str] = mapped_column(sa.String(32))
    out_trade_no: Mapped[str] = mapped_column(sa.String(32), unique=True)
    body: Mapped[str] = mapped_column(sa.String(128))
    attach: Mapped[str | None] = mapped_column(sa.String(128))
    device_info: Mapped[str | None] = mapped_column(sa.String(32))
    total_fee: Mapped[int]
    trade_type: Mapped[str] = mapped_column(sa.String(16))
    openid: Mapped[str | None] = mapped_column(sa.String(128))  # JSAPI: who must pay
    product_id: Mapped[str | None] = mapped_column(sa.String(32))
    notify_url: Mapped[str] = mapped_column(sa.String(256))
    spbill_create_ip: Mapped[str] = mapped_column(sa.String(64))
    sign_type: Mapped[str] = mapped_column(sa.String(16), default="MD5")
    time_start: Mapped[str | None] = mapped_column(sa.String(14))
    time_expire: Mapped[str | None] = mapped_column(sa.String(14))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # time_expire, in UTC
    # The signed fields that re-entry must repeat exactly (JSON, without nonce_str and sign).
    request_params: Mapped[str] = mapped_column(sa.Text)

    prepay_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prepay_expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Names the order in code_url / mweb_url, which anyone holding the QR code can open.
    pay_token: Mapped[str] = mapped_column(sa.String(64), unique=True)
    mweb_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # NOTPAY, SUCCESS, CLOSED or REFUND. Expiry is not written here: see pay.trade_state.
    trade_state: Mapped[str] = mapped_column(sa.String(10), default="NOTPAY")
    transaction_id: Mapped[str | None] = mapped_column(sa.String(32), unique=True)
    payer_openid: Mapped[str | None] = mapped_column(sa.String(128))
    bank_type: Mapped[str | None] = mapped_column(sa.String(16))
    cash_fee: Mapped[int | None]
    time_end: Mapped[str | None] = mapped_column(sa.String(14))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    refunds: Mapped[list["SandboxPayRefund"]] = relationship(
        back_populates="order", order_by="SandboxPayRefund.id"
    )


class SandboxPayRefund(db.Model):
    __tablename__ = "sandbox_pay_refunds"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(
        sa.ForeignKey("sandbox_pay_orders.id", ondelete="CASCADE"), index=True
    )
    out_refund_no: Mapped[str] = mapped_column(sa.String(64), unique=True)
    refund_id: Mapped[str] = mapped_column(sa.String(32), unique=True)
    refund_fee: Mapped[int]
    refund_desc: Mapped[str | None] = mapped_column(sa.String(80))
    refund_account: Mapped[str] = mapped_column(sa.String(40))
    notify_url: Mapped[str | None] = mapped_column(sa.String(256))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # PROCESSING until then, SUCCESS from then on (pay_refunds.refund_status): the outcome is
    # known when the refund is accepted, so its notification is queued, due at this time.
    succeeds_at: Mapped[datetime] = mapped_column(UTCDateTime)

    order: Mapped[SandboxPayOrder] = relationship(back_populates="refunds")


class SandboxPayNotification(db.Model):
    """The outbox: one notification WeChat owes the merchant, and how delivering it went."""

    __tablename__ = "sandbox_pay_notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(10))  # payment | refund
    order_id: Mapped[int] = mapped_column(
        sa.ForeignKey("sandbox_pay_orders.id", ondelete="CASCADE"), index=True
    )
    refund_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("sandbox_pay_refunds.id", ondelete="CASCADE")
    )
    url: Mapped[str] = mapped_column(sa.String(256))
    body: Mapped[str] = mapped_column(sa.Text)
    attempts: Mapped[int] = mapped_column(default=0)
    # None once delivered or given up; otherwise when the next attempt is due.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # A deliverer owns the row until then (compare-and-set), so two never send it at once.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_answer: Mapped[str | None] = mapped_column(sa.String(500))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    order: Mapped[SandboxPayOrder] = relationship()


# --- the Official Account's server API ------------------------------------------------------


class SandboxApiToken(db.Model):
    """An access token the sandbox handed out (cgi-bin/token); revoked ones answer 40001."""

    __tablename__ = "sandbox_api_tokens"

    token: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    appid: Mapped[str] = mapped_column(sa.String(32))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SandboxMenu(db.Model):
    """The custom menu an account's developer pushed (menu/create), exactly as sent."""

    __tablename__ = "sandbox_menus"

    appid: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    body: Mapped[bytes] = mapped_column(sa.LargeBinary)  # the request body, as WeChat got it
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SandboxFollower(db.Model):
    """A WeChat user's standing with the 公众号: following or not, and their last interaction.

    WeChat lets an account send customer-service messages only within 48 hours of the
    follower's last interaction (a message, a menu click, following, a scan), and template
    messages only to followers; the sandbox's message endpoints read both from here, and
    whether a follower turned the account's messages off (template messages then answer
    43101).
    """

    __tablename__ = "sandbox_followers"

    openid: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    following: Mapped[bool] = mapped_column(default=False)
    followed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the latest follow
    last_interaction_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refuses_messages: Mapped[bool] = mapped_column(default=False)


class SandboxFollowerMessage(db.Model):
    """One thing a follower did in the 公众号 chat, as WeChat pushed it to the shop's server
    URL, and the shop's answer: the follower page's conversation."""

    __tablename__ = "sandbox_follower_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    openid: Mapped[str] = mapped_column(sa.String(64), index=True)
    kind: Mapped[str] = mapped_column(sa.String(10))  # text | event
    summary: Mapped[str] = mapped_column(sa.String(700))  # the text, or what the event was
    create_time: Mapped[int] = mapped_column(sa.BigInteger)  # the XML's CreateTime
    sent_xml: Mapped[str] = mapped_column(sa.Text)  # the message, before any encryption
    safe_mode: Mapped[bool] = mapped_column(default=False)
    # None until the shop has answered (or failed to).
    status: Mapped[int | None]
    answer: Mapped[str | None] = mapped_column(sa.Text)  # the body as the shop sent it
    reply_xml: Mapped[str | None] = mapped_column(sa.Text)  # decrypted in safe mode
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SandboxQrCode(db.Model):
    """A temporary 带参数二维码 the sandbox made (qrcode/create): its ticket names its scene."""

    __tablename__ = "sandbox_qr_codes"

    ticket: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    appid: Mapped[str] = mapped_column(sa.String(32))
    scene: Mapped[str] = mapped_column(sa.String(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SandboxSentMessage(db.Model):
    """A template or customer-service message the shop sent, exactly as WeChat received it."""

    __tablename__ = "sandbox_sent_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(10))  # template | custom
    touser: Mapped[str] = mapped_column(sa.String(64), index=True)
    template_id: Mapped[str | None] = mapped_column(sa.String(64))
    body: Mapped[bytes] = mapped_column(sa.LargeBinary)  # the request body, as sent
    msgid: Mapped[int | None] = mapped_column(sa.BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
