"""Reader identity (guests and WeChat), binding, and reading progress."""

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.analytics import rollups
from app.extensions import db
from app.models import (
    Entitlement,
    Order,
    OrderKind,
    OrderStatus,
    Product,
    Reader,
    ReadingProgress,
    Section,
)
from app.models.base import insert_or_ignore, utcnow


@dataclass(frozen=True)
class WeChatProfile:
    """What WeChat tells us about a reader; name and avatar only with snsapi_userinfo."""

    openid: str
    unionid: str | None = None
    nickname: str | None = None
    avatar_url: str | None = None


def create_guest() -> Reader:
    reader = Reader()
    db.session.add(reader)
    db.session.flush()
    return reader


def find_by_openid(openid: str) -> Reader | None:
    return db.session.scalar(sa.select(Reader).where(Reader.openid == openid))


def sign_in_with_wechat(current: Reader | None, profile: WeChatProfile) -> Reader:
    """The reader this browser becomes after WeChat told us who is there.

    A guest who authorises keeps everything: when the openid is new the guest itself is bound
    to it; when the openid already has a reader, the guest's library and progress move over.
    A browser already bound to another openid is another person: no merge, just a switch.
    """
    known = find_by_openid(profile.openid)
    if known is None and current is not None and current.is_guest:
        current.openid = profile.openid
        known = current
    elif known is None:
        known = create_bound_reader(profile.openid)
    elif current is not None and current.is_guest and current.id != known.id:
        _merge_guest_into(current, known)
    _update_profile(known, profile)
    db.session.flush()
    return known


_READER_ID_BY_OPENID = sa.select(Reader.__table__.c.id).where(
    Reader.__table__.c.openid == sa.bindparam("openid")
)


def ensure_reader_for_openid(connection: sa.Connection, openid: str) -> int:
    """The id of the reader bound to this openid, creating one if WeChat is new to us.

    Used while a payment holds the write lock: Core statements, and the unique openid
    deciding a concurrent creation.
    """
    found = connection.execute(_READER_ID_BY_OPENID, {"openid": openid}).scalar()
    if found is not None:
        return found
    connection.execute(
        insert_or_ignore(Reader.__table__, ("openid",)), {"openid": openid, "created_at": utcnow()}
    )
    return connection.execute(_READER_ID_BY_OPENID, {"openid": openid}).scalar_one()


def create_bound_reader(openid: str) -> Reader:
    try:
        with db.session.begin_nested():
            reader = Reader(openid=openid)
            db.session.add(reader)
    except IntegrityError:  # the same openid signed in concurrently
        reader = find_by_openid(openid)
    return reader


def _update_profile(reader: Reader, profile: WeChatProfile) -> None:
    if profile.unionid:
        reader.unionid = profile.unionid
    if profile.nickname:
        reader.nickname = profile.nickname[:64]
    if profile.avatar_url:
        reader.avatar_url = profile.avatar_url[:500]


def _merge_guest_into(guest: Reader, target: Reader) -> None:
    owned = set(
        db.session.scalars(
            sa.select(Entitlement.product_id).where(Entitlement.reader_id == target.id)
        )
    )
    for entitlement in db.session.scalars(
        sa.select(Entitlement).where(Entitlement.reader_id == guest.id)
    ):
        if entitlement.product_id in owned:
            db.session.delete(entitlement)
        else:
            entitlement.reader_id = target.id
    started = set(
        db.session.scalars(
            sa.select(ReadingProgress.product_id).where(ReadingProgress.reader_id == target.id)
        )
    )
    for progress in db.session.scalars(
        sa.select(ReadingProgress).where(ReadingProgress.reader_id == guest.id)
    ):
        if progress.product_id in started:
            db.session.delete(progress)
        else:
            progress.reader_id = target.id
    # Orders are records of what happened; they follow the person, never disappear. One
    # person has one open order per item: of two, the one merging drops is closed first.
    from app.payments import orders  # the state machine imports this module

    for duplicate in open_orders_a_merge_closes(guest, target):
        orders.close(duplicate, "merged")
    db.session.execute(
        sa.update(Order).where(Order.reader_id == guest.id).values(reader_id=target.id)
    )
    rollups.merge_buyer(guest.id, target.id)  # the dashboard's buyers: one person, too
    db.session.flush()
    db.session.delete(guest)


def open_orders_a_merge_closes(guest: Reader, target: Reader) -> list[Order]:
    """Where the guest and the reader it merges into both have an open order for the same
    item: the older of each pair, which the merge closes.

    The newer is kept: it is the one the reader placed last, most likely the one on their
    screen, and the one with the most time left to pay. Closing it at WeChat is the
    caller's, before the merge (payments.checkout.close_before_merge).
    """
    open_purchases = (
        sa.select(Order)
        .where(
            Order.reader_id.in_((guest.id, target.id)),
            Order.kind == OrderKind.PURCHASE,
            Order.status == OrderStatus.PENDING,
        )
        .order_by(Order.created_at.desc(), Order.id.desc())
    )
    newest_per_item: set[int] = set()
    older = []
    for order in db.session.scalars(open_purchases):
        if order.product_id in newest_per_item:
            older.append(order)
        else:
            newest_per_item.add(order.product_id)
    return older


def record_progress(reader: Reader, section: Section) -> None:
    progress = db.session.scalar(
        sa.select(ReadingProgress).where(
            ReadingProgress.reader_id == reader.id,
            ReadingProgress.product_id == section.product_id,
        )
    )
    if progress is None:
        try:
            with db.session.begin_nested():
                db.session.add(
                    ReadingProgress(
                        reader_id=reader.id, product_id=section.product_id, section_id=section.id
                    )
                )
        except IntegrityError:  # another tab recorded first; the next visit updates it
            pass
        return
    progress.section_id = section.id
    progress.updated_at = utcnow()


def last_read_section(reader: Reader | None, product: Product) -> Section | None:
    if reader is None:
        return None
    return db.session.scalar(
        sa.select(Section)
        .join(ReadingProgress, ReadingProgress.section_id == Section.id)
        .where(ReadingProgress.reader_id == reader.id, ReadingProgress.product_id == product.id)
    )


def last_read_by_product(reader: Reader) -> dict[int, Section]:
    rows = db.session.execute(
        sa.select(ReadingProgress.product_id, Section)
        .join(Section, ReadingProgress.section_id == Section.id)
        .where(ReadingProgress.reader_id == reader.id)
    )
    return {product_id: section for product_id, section in rows}
