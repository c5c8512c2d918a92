"""The shop itself: its public profile and the creator who runs it."""

import hashlib
from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import UTCDateTime, db, utcnow

DEFAULT_TIP_PRESETS_FEN = (200, 500, 1000, 2000, 5000)
DEFAULT_TIP_MAX_FEN = 50000
DEFAULT_TIP_THANKS = "谢谢你的赞赏！你的支持是我继续写下去的动力。"


class ShopProfile(db.Model):
    """One row: the creator's public face of the shop."""

    __tablename__ = "shop_profile"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(40))
    tagline: Mapped[str] = mapped_column(sa.String(120), default="")
    creator_name: Mapped[str] = mapped_column(sa.String(40), default="")
    intro_md: Mapped[str] = mapped_column(sa.Text, default="")
    intro_html: Mapped[str] = mapped_column(sa.Text, default="")
    banner_image: Mapped[str | None] = mapped_column(sa.String(200))
    # 赞赏: the amounts offered as buttons, the largest custom amount, the note shown after a
    # tip, and whether the supporter wall shows amounts.
    tip_presets_fen: Mapped[list[int]] = mapped_column(
        sa.JSON, default=lambda: list(DEFAULT_TIP_PRESETS_FEN)
    )
    tip_max_fen: Mapped[int] = mapped_column(default=DEFAULT_TIP_MAX_FEN)
    tip_thanks_note: Mapped[str] = mapped_column(sa.String(200), default=DEFAULT_TIP_THANKS)
    tip_show_amounts: Mapped[bool] = mapped_column(default=True)
    # The 公众号's messages after a payment (app/wechat/message_settings.py): per message, a
    # template id and which of the order's facts fills which of the template's keys; and the
    # creator's openid, where notices of new orders and tips go.
    message_templates: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    creator_openid: Mapped[str] = mapped_column(sa.String(64), default="")
    # Bumped by every change to what readers see, so cached pages expire.
    content_version: Mapped[int] = mapped_column(default=1)
    # Bumped by every change to the supporter walls (a tip paid, refunded or hidden, a
    # supporter's new name): only the pages that show a wall expire, not the whole catalog.
    walls_version: Mapped[int] = mapped_column(default=1)
    # 积分 (app/pricing/points.py): points a paid yuan earns (0: none), points that take ¥1
    # off (0: points cannot be spent), and the most of a price they may take off, in %.
    points_earn_per_yuan: Mapped[int] = mapped_column(default=0, server_default="0")
    points_per_yuan: Mapped[int] = mapped_column(default=100, server_default="100")
    points_max_percent: Mapped[int] = mapped_column(default=20, server_default="20")


class Creator(UserMixin, db.Model):
    __tablename__ = "creators"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(40), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(256))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def get_id(self) -> str:
        """What a login session stores: the id and a stamp of the current password.

        A new password (salted afresh) makes a new stamp, so every session opened with the old
        one stops loading (`app.load_creator`): changing the password logs out the other
        devices. The stamp is a digest, so the signed (not encrypted) cookie does not carry
        the hash itself.
        """
        return f"{self.id}.{self.session_stamp}"

    @property
    def session_stamp(self) -> str:
        return hashlib.sha256(self.password_hash.encode()).hexdigest()[:16]


class LoginFailure(db.Model):
    """One failed creator login: counted per IP and per username by app/login_throttle.py,
    in the database so that every worker (and every server) sees the same count."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    ip: Mapped[str] = mapped_column(sa.String(45), index=True)  # an IPv6 address at most
    username: Mapped[str] = mapped_column(sa.String(40), index=True)
    failed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
