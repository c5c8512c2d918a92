"""What the shop keeps of WeChat's server API (its access token and tickets) and of the messages
WeChat pushes to it."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import UTCDateTime, db, utcnow


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
