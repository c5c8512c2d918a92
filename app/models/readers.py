"""Readers, what they own, and where they stopped reading."""

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import UTCDateTime, db, str_enum, utcnow
from app.models.catalog import Product, Section


class Reader(db.Model):
    """A reader: a guest (session only) until bound to a WeChat openid.

    Name and picture come from two places: what WeChat last told us (`nickname`,
    `avatar_url`, never its "微信用户" placeholder) and what the reader chose on 我的
    (`chosen_name`, `chosen_avatar`). What they chose wins; clearing it shows WeChat's again.
    """

    __tablename__ = "readers"
    __table_args__ = (sa.CheckConstraint("points_balance >= 0", name="points_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    openid: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    unionid: Mapped[str | None] = mapped_column(sa.String(64))
    nickname: Mapped[str | None] = mapped_column(sa.String(64))
    avatar_url: Mapped[str | None] = mapped_column(sa.String(500))
    chosen_name: Mapped[str | None] = mapped_column(sa.String(32))
    # The file name of the avatar they uploaded (app/readers/profiles.py), content-hashed.
    chosen_avatar: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # 积分: changed only with a line in points_entries (app/pricing/points.py).
    points_balance: Mapped[int] = mapped_column(default=0, server_default="0")

    @property
    def is_guest(self) -> bool:
        return self.openid is None

    @hybrid_property
    def known_name(self) -> str | None:
        """The name they chose, else WeChat's; None when the shop knows neither."""
        return self.chosen_name or self.nickname

    @known_name.inplace.expression
    @classmethod
    def _known_name_expression(cls) -> sa.ColumnElement[str | None]:
        return sa.func.coalesce(cls.chosen_name, cls.nickname)

    @property
    def display_name(self) -> str:
        return display_name(self.id, self.is_guest, self.known_name)


def display_name(reader_id: int, is_guest: bool, known_name: str | None) -> str:
    """How the shop names a reader: the name they chose or WeChat's, else one from their id."""
    if known_name:
        return known_name
    return f"游客{reader_id}" if is_guest else f"微信读者{reader_id}"


class EntitlementSource(enum.StrEnum):
    PURCHASE = "purchase"
    FREE = "free"  # a free item claimed into the library
    GIFT = "gift"  # granted by the creator, or a gift a reader claimed


class Entitlement(db.Model):
    """The fact that a reader may read a product. One row per reader and product."""

    __tablename__ = "entitlements"
    __table_args__ = (sa.UniqueConstraint("reader_id", "product_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reader_id: Mapped[int] = mapped_column(
        sa.ForeignKey("readers.id", ondelete="CASCADE"), index=True
    )
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id", ondelete="CASCADE"))
    source: Mapped[EntitlementSource] = mapped_column(
        str_enum(EntitlementSource, "entitlement_source")
    )
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The paid order behind a purchase; a full refund of that order takes the access back.
    order_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orders.id"))

    product: Mapped[Product] = relationship()


class ReadingProgress(db.Model):
    """The section a reader last opened in a course or column ("continue reading")."""

    __tablename__ = "reading_progress"
    __table_args__ = (sa.UniqueConstraint("reader_id", "product_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reader_id: Mapped[int] = mapped_column(sa.ForeignKey("readers.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id", ondelete="CASCADE"))
    section_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("sections.id", ondelete="SET NULL")
    )
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    section: Mapped[Section | None] = relationship()
