"""Who may see and read what. The one place these rules live.

A viewer is whoever is looking: maybe a reader (guest or WeChat), maybe the logged-in
creator. Free items and free sections are open to everyone; everything else needs an
entitlement row, which only a paid order, a claimed gift (or the creator) creates, or a
running membership (会员) whose plan opens the item: what a reader has is both
(`owned_by`), read in one statement.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import (
    Entitlement,
    EntitlementSource,
    Membership,
    Product,
    ProductKind,
    ProductStatus,
    Reader,
    Section,
)
from app.models.base import insert_or_ignore, utcnow
from app.models.catalog import membership_items


@dataclass(frozen=True)
class Viewer:
    reader: Reader | None = None
    is_creator: bool = False
    # What the reader owns, when the caller has read it already: a cached page is rendered
    # from the very answer its cache key was made from, never from a second, later read.
    owned: frozenset[int] | None = None


def owns(viewer: Viewer, product: Product) -> bool:
    if viewer.reader is None:
        return False
    if viewer.owned is not None:
        return product.id in viewer.owned
    return product.id in owned_by(viewer.reader.id)


def can_view_product(viewer: Viewer, product: Product) -> bool:
    """Published products are public; a draft stays visible to those who bought it earlier."""
    return product.is_published or viewer.is_creator or owns(viewer, product)


def can_read_product(viewer: Viewer, product: Product) -> bool:
    if not can_view_product(viewer, product):
        return False
    return product.is_free or viewer.is_creator or owns(viewer, product)


def can_read_section(viewer: Viewer, section: Section) -> bool:
    if not can_view_product(viewer, section.product):
        return False
    return section.is_free or can_read_product(viewer, section.product)


def readable_section_ids(viewer: Viewer, product: Product) -> set[int]:
    """The sections of a product this viewer may open (can_read_section for each of them,
    asking who owns what once rather than once per section)."""
    if not can_view_product(viewer, product):
        return set()
    if can_read_product(viewer, product):
        return {s.id for s in product.sections}
    return {s.id for s in product.sections if s.is_free}


def grant(reader: Reader, product: Product, source: EntitlementSource) -> Entitlement:
    """Give a reader a product; granting twice returns the first grant.

    The unique (reader, product) constraint decides, not a read-then-write, so two
    concurrent grants still leave one row.
    """
    existing = _find(reader.id, product.id)
    if existing is not None:
        return existing
    try:
        with db.session.begin_nested():
            entitlement = Entitlement(reader_id=reader.id, product_id=product.id, source=source)
            db.session.add(entitlement)
    except IntegrityError:
        entitlement = _find(reader.id, product.id)
    return entitlement


def grant_for_order(
    connection: sa.Connection, reader_ids: set[int], product_id: int, order_id: int
) -> None:
    """A paid order's access, in one statement: readers who already own it keep their row.

    Runs inside the payment's write lock, so it is plain Core with the unique
    (reader, product) constraint deciding, not the ORM's read-then-write.
    """
    now = utcnow()
    connection.execute(
        insert_or_ignore(Entitlement.__table__, ("reader_id", "product_id")),
        [
            {
                "reader_id": reader_id,
                "product_id": product_id,
                "source": EntitlementSource.PURCHASE,
                "order_id": order_id,
                "granted_at": now,
            }
            for reader_id in sorted(reader_ids)
        ],
    )


def library(reader: Reader) -> Sequence[Entitlement]:
    """Everything the reader owns, newest first."""
    return db.session.scalars(
        sa.select(Entitlement)
        .where(Entitlement.reader_id == reader.id)
        .options(selectinload(Entitlement.product).selectinload(Product.tags))
        .order_by(Entitlement.granted_at.desc(), Entitlement.id.desc())
    ).all()


@dataclass(frozen=True)
class LibraryEntry:
    product: Product
    granted_at: datetime
    last_read: Section | None


def library_entries(
    owned_since: Mapping[int, datetime], last_read: Mapping[int, int]
) -> list[LibraryEntry]:
    """The library from what a reader owns (product id -> granted at, in the order to show)
    and where they are (product id -> section id): two queries by id, whatever its size."""
    products = {
        product.id: product
        for product in db.session.scalars(
            sa.select(Product).where(Product.id.in_(list(owned_since)))
        )
    }
    sections = {
        section.id: section
        for section in db.session.scalars(
            sa.select(Section).where(Section.id.in_(list(last_read.values())))
        )
    }
    return [
        LibraryEntry(products[product_id], granted_at, sections.get(last_read.get(product_id)))
        for product_id, granted_at in owned_since.items()
        if product_id in products
    ]


def owned_product_ids(viewer: Viewer) -> set[int]:
    if viewer.reader is None:
        return set()
    return set(viewer.owned if viewer.owned is not None else owned_by(viewer.reader.id))


def in_member_scope(reader_id, now) -> sa.Select:
    """The published items within the reader's running memberships: every one for a plan
    that names none, else the ones it names (membership_items)."""
    memberships, products = Membership.__table__, Product.__table__
    running = sa.select(memberships.c.plan_id).where(
        memberships.c.reader_id == reader_id,
        memberships.c.starts_at <= now,
        memberships.c.ends_at > now,
        memberships.c.ended_at.is_(None),
    )
    plan = products.alias("plan")
    a_whole_shop_plan = sa.exists().where(
        plan.c.id.in_(running), ~sa.exists().where(membership_items.c.plan_id == plan.c.id)
    )
    named = sa.select(membership_items.c.product_id).where(membership_items.c.plan_id.in_(running))
    # Literals, not parameters: the snapshot runs this as a prepared read whose only
    # parameters are the reader and the moment.
    return sa.select(products.c.id).where(
        products.c.status == sa.literal_column(f"'{ProductStatus.PUBLISHED.value}'"),
        products.c.kind != sa.literal_column(f"'{ProductKind.MEMBERSHIP.value}'"),
        sa.or_(a_whole_shop_plan, products.c.id.in_(named)),
    )


def covered_by_memberships(reader_id, now) -> sa.Select:
    """What the reader's running memberships let them read: the items in their scope but
    those with a member price (members pay that instead, app/pricing/rule.py)."""
    scope = in_member_scope(reader_id, now)
    return scope.where(Product.__table__.c.member_price_fen.is_(None))


def member_price_applies(reader_id: int | None, product: Product) -> bool:
    """Whether the reader is a member whose pass covers this item, for its member price."""
    if reader_id is None or product.member_price_fen is None:
        return False
    scope = in_member_scope(reader_id, utcnow()).where(Product.__table__.c.id == product.id)
    return db.session.execute(scope).first() is not None


_OWNED_BY = sa.union(
    sa.select(Entitlement.__table__.c.product_id).where(
        Entitlement.__table__.c.reader_id == sa.bindparam("reader_id")
    ),
    covered_by_memberships(
        sa.bindparam("reader_id"), sa.bindparam("now", type_=Membership.__table__.c.ends_at.type)
    ),
)


def owned_by(reader_id: int) -> frozenset[int]:
    """The ids of the products a reader has: their entitlements and what their running
    memberships open. One query, no reader row loaded (every signed-in page asks, so the
    statement is built once)."""
    rows = db.session.connection().execute(_OWNED_BY, {"reader_id": reader_id, "now": utcnow()})
    return frozenset(rows.scalars())


def _find(reader_id: int, product_id: int) -> Entitlement | None:
    return db.session.scalar(
        sa.select(Entitlement).where(
            Entitlement.reader_id == reader_id, Entitlement.product_id == product_id
        )
    )
