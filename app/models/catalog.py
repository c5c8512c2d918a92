"""The catalog: products of four kinds, their sections, files and tags."""

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from app.models.base import UTCDateTime, db, str_enum, utcnow


class ProductKind(enum.StrEnum):
    ARTICLE = "article"
    COURSE = "course"
    COLUMN = "column"
    DOWNLOAD = "download"
    MEMBERSHIP = "membership"  # a pass for a number of days (app/pricing/memberships.py)

    @property
    def label(self) -> str:
        return {
            "article": "图文",
            "course": "课程",
            "column": "专栏",
            "download": "资料",
            "membership": "会员",
        }[self.value]

    @property
    def section_label(self) -> str:
        return "课时" if self is ProductKind.COURSE else "文章"


class ProductStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


product_tags = sa.Table(
    "product_tags",
    db.metadata,
    sa.Column("product_id", sa.ForeignKey("products.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("tag_id", sa.ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
)


class Tag(db.Model):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(60), unique=True)
    name: Mapped[str] = mapped_column(sa.String(30))


membership_items = sa.Table(
    "membership_items",
    db.metadata,
    sa.Column("plan_id", sa.ForeignKey("products.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("product_id", sa.ForeignKey("products.id", ondelete="CASCADE"), primary_key=True),
)
MEMBERSHIP_HAS_DAYS = (
    "(kind = 'membership' AND membership_days > 0)"
    " OR (kind != 'membership' AND membership_days IS NULL)"
)


class Product(db.Model):
    __tablename__ = "products"
    __table_args__ = (
        sa.CheckConstraint("price_fen >= 0", name="price_not_negative"),
        # 随心付: price_fen is the suggested amount, and the least a reader may pay is at
        # most that (0 lets them read for nothing, but they still go through checkout).
        sa.CheckConstraint(
            "NOT pay_what_you_want OR (price_fen > 0 AND min_price_fen BETWEEN 0 AND price_fen)",
            name="pay_what_you_want_fits_price",
        ),
        sa.CheckConstraint(MEMBERSHIP_HAS_DAYS, name="membership_has_days"),
        sa.CheckConstraint(
            "member_price_fen IS NULL OR (member_price_fen > 0 AND member_price_fen < price_fen)",
            name="member_price_below_price",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    kind: Mapped[ProductKind] = mapped_column(str_enum(ProductKind, "product_kind"))
    title: Mapped[str] = mapped_column(sa.String(120))
    summary: Mapped[str] = mapped_column(sa.String(300), default="")
    price_fen: Mapped[int] = mapped_column(default=0)
    pay_what_you_want: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    min_price_fen: Mapped[int] = mapped_column(default=0, server_default="0")
    # 会员: a pass of this many days; it opens the items in membership_items, or every
    # published item when it names none.
    membership_days: Mapped[int | None]
    # What members whose pass covers this item pay for it; None: they read it free.
    member_price_fen: Mapped[int | None]
    # 请朋友读: each buyer may pass one free read of it on to a friend.
    buyers_share_a_read: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # How many times each buyer may download each of its files; none: as often as they like.
    download_limit: Mapped[int | None]
    # Audio and video lessons: no seeking past the furthest point reached until finished once.
    no_seek_ahead: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    status: Mapped[ProductStatus] = mapped_column(
        str_enum(ProductStatus, "product_status"), default=ProductStatus.DRAFT, index=True
    )
    featured: Mapped[bool] = mapped_column(default=False)
    cover_image: Mapped[str | None] = mapped_column(sa.String(200))
    # Markdown as written, and the HTML rendered from it when it is saved (never per request).
    # preview_html is the part before the preview marker; body_html is everything.
    body_md: Mapped[str] = mapped_column(sa.Text, default="")
    preview_html: Mapped[str] = mapped_column(sa.Text, default="")
    body_html: Mapped[str] = mapped_column(sa.Text, default="")
    has_paid_part: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    tags: Mapped[list[Tag]] = relationship(secondary=product_tags, order_by=Tag.id)
    member_items: Mapped[list["Product"]] = relationship(
        secondary=membership_items,
        primaryjoin=lambda: Product.id == membership_items.c.plan_id,
        secondaryjoin=lambda: Product.id == membership_items.c.product_id,
        order_by=lambda: Product.id,
    )
    sections: Mapped[list["Section"]] = relationship(
        back_populates="product", order_by="Section.position", cascade="all, delete-orphan"
    )
    files: Mapped[list["ProductFile"]] = relationship(
        back_populates="product", order_by="ProductFile.id", cascade="all, delete-orphan"
    )

    @property
    def is_free(self) -> bool:
        return self.price_fen == 0

    @property
    def is_membership(self) -> bool:
        return self.kind is ProductKind.MEMBERSHIP

    @property
    def is_published(self) -> bool:
        return self.status is ProductStatus.PUBLISHED


class Section(db.Model):
    """A lesson of a course or an article of a column, in reading order."""

    __tablename__ = "sections"
    __table_args__ = (sa.UniqueConstraint("product_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id", ondelete="CASCADE"))
    position: Mapped[int]
    title: Mapped[str] = mapped_column(sa.String(120))
    body_md: Mapped[str] = mapped_column(sa.Text, default="")
    body_html: Mapped[str] = mapped_column(sa.Text, default="")
    is_free: Mapped[bool] = mapped_column(default=False)  # 试看: readable without buying
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    product: Mapped[Product] = relationship(back_populates="sections")


# How many sections a product has, for the cards of a list: a subquery in the same SELECT,
# instead of loading every section (bodies and all) of every card, one query per card.
Product.section_count = column_property(
    sa.select(sa.func.count(Section.id))
    .where(Section.product_id == Product.id)
    .correlate_except(Section)
    .scalar_subquery()
)


class ProductFile(db.Model):
    """A file of a download product, stored outside the web root under a random name."""

    __tablename__ = "product_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(sa.String(200))
    stored_name: Mapped[str] = mapped_column(sa.String(80), unique=True)
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size_bytes: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    product: Mapped[Product] = relationship(back_populates="files")


class DownloadCount(db.Model):
    """How many times a reader has downloaded a file (the creator's cap counts against it)."""

    __tablename__ = "download_counts"

    reader_id: Mapped[int] = mapped_column(
        sa.ForeignKey("readers.id", ondelete="CASCADE"), primary_key=True
    )
    file_id: Mapped[int] = mapped_column(
        sa.ForeignKey("product_files.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    count: Mapped[int] = mapped_column(default=0)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
