"""Catalog rules: what readers can see, how products are rendered, search and listings.

Plain Python over the models; views and CLI commands call these, nothing here reads a request.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app.catalog.richtext import render_markdown, split_at_marker, strip_marker
from app.extensions import db
from app.models import Product, ProductKind, ProductStatus, Section, ShopProfile, Tag
from app.models.base import utcnow
from app.models.catalog import product_tags
from app.models.pricing import Offer
from app.models.shop import DEFAULT_TIP_MAX_FEN, DEFAULT_TIP_PRESETS_FEN, DEFAULT_TIP_THANKS
from app.text_search import clean_query, contains_pattern

DEFAULT_SHOP_NAME = "我的知识小店"


def shop_profile() -> ShopProfile:
    """The shop's profile, to read. A shop whose profile was never saved has no row yet;
    then this is the defaults, unsaved: a page view never writes (it would fail on SQLite
    while another reader writes, having read first)."""
    return db.session.get(ShopProfile, 1) or _unsaved_profile()


def editable_shop_profile() -> ShopProfile:
    """The shop's profile, to change: created on first need. Call it inside a writing()
    unit of work (app.transactions), which holds the write lock before this reads."""
    profile = db.session.get(ShopProfile, 1)
    if profile is None:
        profile = ShopProfile(id=1, name=DEFAULT_SHOP_NAME)
        db.session.add(profile)
        db.session.flush()
    return profile


def _unsaved_profile() -> ShopProfile:
    return ShopProfile(
        id=1,
        name=DEFAULT_SHOP_NAME,
        tagline="",
        creator_name="",
        intro_md="",
        intro_html="",
        banner_image=None,
        tip_presets_fen=list(DEFAULT_TIP_PRESETS_FEN),
        tip_max_fen=DEFAULT_TIP_MAX_FEN,
        tip_thanks_note=DEFAULT_TIP_THANKS,
        tip_show_amounts=True,
        message_templates={},
        creator_openid="",
        content_version=0,  # as content_version() reads it
        walls_version=0,
    )


def content_version() -> int:
    """A number that changes whenever what anonymous readers see changes (page cache key)."""
    version = db.session.execute(sa.select(ShopProfile.content_version)).scalar()
    return version or 0


def page_versions() -> tuple[tuple[int, int], int]:
    """What the page cache's key is made of, in one statement: the catalog's version with
    how many offer starts and ends have passed (a price on a page changes when an offer
    begins or ends, which no edit marks), and the walls' version."""
    now = utcnow()
    offer_moments = (
        sa.select(sa.func.count()).where(Offer.starts_at <= now).scalar_subquery()
        + sa.select(sa.func.count()).where(Offer.ends_at <= now).scalar_subquery()
    )
    # Subqueries rather than FROM shop_profile: a shop without its profile row yet still
    # counts its offers' moments.
    content, moments, walls = db.session.execute(
        sa.select(
            sa.select(ShopProfile.content_version).scalar_subquery(),
            offer_moments,
            sa.select(ShopProfile.walls_version).scalar_subquery(),
        )
    ).one()
    return (content or 0, moments), walls or 0


def mark_content_changed() -> None:
    editable_shop_profile()  # the version lives in the profile's row
    db.session.execute(
        sa.update(ShopProfile).values(content_version=ShopProfile.content_version + 1)
    )


def mark_walls_changed() -> None:
    """A supporter wall changed (a tip, its refund, a hidden message, a supporter's name):
    pages that show one expire; the rest of the catalog stays cached."""
    editable_shop_profile()
    db.session.execute(sa.update(ShopProfile).values(walls_version=ShopProfile.walls_version + 1))


def render_product(product: Product) -> None:
    """Render the stored Markdown into preview_html/body_html. Called on every save.

    An article's body is its content: the free preview is what stands before the marker, and
    without a marker nothing is free. The body of a course, column or download is its public
    introduction: all of it is public unless a marker hides a buyers-only part.
    """
    parts = split_at_marker(product.body_md)
    if parts is not None:
        before, after = parts
        product.preview_html = render_markdown(before)
        product.has_paid_part = bool(after.strip())
    elif product.kind is ProductKind.ARTICLE:
        product.preview_html = ""
        product.has_paid_part = bool(product.body_md.strip())
    else:
        product.preview_html = render_markdown(product.body_md)
        product.has_paid_part = False
    product.body_html = render_markdown(strip_marker(product.body_md))
    for section in product.sections:
        section.body_html = render_markdown(section.body_md)


def publish(product: Product) -> None:
    product.status = ProductStatus.PUBLISHED
    product.published_at = product.published_at or utcnow()


def _published() -> sa.Select:
    return (
        sa.select(Product)
        .where(Product.status == ProductStatus.PUBLISHED)
        .options(selectinload(Product.tags))
    )


def latest_products(limit: int = 20) -> Sequence[Product]:
    query = _published().order_by(Product.published_at.desc(), Product.id.desc()).limit(limit)
    return db.session.scalars(query).all()


def featured_products(limit: int = 6) -> Sequence[Product]:
    query = (
        _published()
        .where(Product.featured.is_(True))
        .order_by(Product.published_at.desc(), Product.id.desc())
        .limit(limit)
    )
    return db.session.scalars(query).all()


def tags_in_use() -> Sequence[Tag]:
    """Tags that label at least one published product, most used first."""
    count = sa.func.count(product_tags.c.product_id)
    query = (
        sa.select(Tag)
        .join(product_tags, product_tags.c.tag_id == Tag.id)
        .join(Product, Product.id == product_tags.c.product_id)
        .where(Product.status == ProductStatus.PUBLISHED)
        .group_by(Tag.id)
        .order_by(count.desc(), Tag.id)
    )
    return db.session.scalars(query).all()


def products_tagged(tag: Tag) -> Sequence[Product]:
    query = (
        _published()
        .where(Product.tags.any(Tag.id == tag.id))
        .order_by(Product.published_at.desc(), Product.id.desc())
    )
    return db.session.scalars(query).all()


SEARCH_MAX_CHARS = 50


def search_query(text: str | None) -> str:
    return clean_query(text, SEARCH_MAX_CHARS)


def search_products(text: str, limit: int = 50) -> Sequence[Product]:
    """Products whose title or summary contain every word of the query.

    Substring matching suits Chinese, which has no spaces between words: "写作" finds
    "高效写作课". Words separated by spaces must all match.
    """
    words = search_query(text).split()[:5]
    if not words:
        return []
    query = _published()
    for word in words:
        pattern = contains_pattern(word)
        query = query.where(
            sa.or_(
                Product.title.ilike(pattern, escape="\\"),
                Product.summary.ilike(pattern, escape="\\"),
            )
        )
    query = query.order_by(Product.published_at.desc(), Product.id.desc()).limit(limit)
    return db.session.scalars(query).all()


def find_product(slug: str) -> Product | None:
    return db.session.scalar(
        sa.select(Product)
        .where(Product.slug == slug)
        .options(selectinload(Product.tags), selectinload(Product.sections))
    )


def find_section(product: Product, position: int) -> Section | None:
    return next((s for s in product.sections if s.position == position), None)


def cover_names() -> list[str]:
    """Every product's cover file name, drafts' too."""
    return list(
        db.session.scalars(sa.select(Product.cover_image).where(Product.cover_image.is_not(None)))
    )


def find_tag(slug: str) -> Tag | None:
    return db.session.scalar(sa.select(Tag).where(Tag.slug == slug))
