"""Reader identity: guests, WeChat readers, binding, and merging a guest into a WeChat reader.

A merge moves everything a person has (what they own, read, ordered and the dashboard's
count of them), so this module sits above payments and analytics and calls into both;
nothing below it imports it.
"""

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.analytics import rollups
from app.extensions import db
from app.models import (
    Entitlement,
    Order,
    Reader,
    ReadingProgress,
)
from app.payments import checkout, orders
from app.pricing import coupons, gifts, memberships, points


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
    for duplicate in checkout.open_orders_a_merge_closes(guest, target):
        orders.close(duplicate, "merged")
    db.session.execute(
        sa.update(Order).where(Order.reader_id == guest.id).values(reader_id=target.id)
    )
    # What the guest shared was shared by the person: their readers' orders credit them still.
    db.session.execute(
        sa.update(Order).where(Order.sharer_id == guest.id).values(sharer_id=target.id)
    )
    coupons.move_uses(guest.id, target.id)  # the orders moved; the uses they hold follow
    points.move(guest.id, target.id)
    gifts.move(guest.id, target.id)
    memberships.move(guest.id, target.id)
    rollups.merge_buyer(guest.id, target.id)  # the dashboard's buyers: one person, too
    db.session.flush()
    db.session.delete(guest)
