"""The sandbox's own state: test WeChat users and OAuth grants.

Kept in tables prefixed sandbox_ so that nothing in the shop reads them: the shop only
learns about these users through the OAuth protocol, as it would from WeChat.
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
    code: Mapped[str] = mapped_column(sa.String(64), unique=True)
    code_expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    code_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    access_token: Mapped[str | None] = mapped_column(sa.String(128), unique=True)
    access_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refresh_token: Mapped[str | None] = mapped_column(sa.String(128), unique=True)
    refresh_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[SandboxUser] = relationship()
