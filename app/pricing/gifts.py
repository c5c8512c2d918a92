"""Gifts (请朋友读): an item bought for someone else, or a free read a buyer shares.

A gift is a link with an unguessable token. The first reader who opens it and presses 领取
gets the item (an entitlement whose source is a gift); the claim is one UPDATE ... WHERE
claimed_by IS NULL, so two friends pressing at once cannot both have it. The giver sees who
claimed it and when.

    bought  an order for the item marked as a gift: paying it makes the gift (the buyer is
            not given the item by it); an unclaimed one may be refunded, which voids it
    shared  one free read of an article that a buyer of it may pass on, where the creator
            allows it for that article (Product.buyers_share_a_read); no order
"""

import secrets

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.catalog import entitlements
from app.extensions import db
from app.models import Entitlement, EntitlementSource, Gift, Order, Product, Reader
from app.models.base import insert_or_ignore, utcnow


class GiftRefused(Exception):
    """A gift cannot be claimed or shared; `message` is for the reader."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def new_token() -> str:
    return secrets.token_urlsafe(24)


def find(token: str) -> Gift | None:
    if not token or len(token) > 64:
        return None
    return db.session.scalar(sa.select(Gift).where(Gift.token == token))


def for_order(order_id: int) -> Gift | None:
    return db.session.scalar(sa.select(Gift).where(Gift.order_id == order_id))


_gifts = Gift.__table__


def make_for_paid_order(connection: sa.Connection, order_id: int, reader_id: int, product_id: int):
    """A gift order was paid: its gift exists from now on (once, whatever repeats)."""
    connection.execute(
        insert_or_ignore(_gifts, ("order_id",)),
        {
            "token": new_token(),
            "order_id": order_id,
            "giver_id": reader_id,
            "product_id": product_id,
            "created_at": utcnow(),
        },
    )


def claim(gift: Gift, reader: Reader) -> None:
    """The reader takes the gift: refused when it is theirs to give, already claimed, voided
    by a refund, or for an item they already have (it stays for another friend)."""
    if gift.giver_id == reader.id:
        raise GiftRefused("own_gift", "这是你送出的礼物，把链接发给朋友吧")
    if gift.voided_at is not None:
        raise GiftRefused("gift_voided", "这份礼物已经退回，不能领取了")
    if gift.claimed_by is not None:
        raise GiftRefused("gift_claimed", "这份礼物已经被领取了")
    if entitlements.owns(entitlements.Viewer(reader=reader), gift.product):
        raise GiftRefused("already_owned", "你已经拥有这件内容，把礼物留给其他朋友吧")
    won = db.session.execute(
        sa.update(Gift)
        .where(Gift.id == gift.id, Gift.claimed_by.is_(None), Gift.voided_at.is_(None))
        .values(claimed_by=reader.id, claimed_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if not won:
        raise GiftRefused("gift_claimed", "这份礼物刚刚被别人领取了")
    db.session.refresh(gift)
    try:
        with db.session.begin_nested():
            db.session.add(
                Entitlement(
                    reader_id=reader.id,
                    product_id=gift.product_id,
                    source=EntitlementSource.GIFT,
                    order_id=gift.order_id,
                )
            )
    except IntegrityError:  # bought it themselves a moment ago: they keep that
        pass


def refusal_to_refund(order: Order) -> str | None:
    """Why a gift order may not be refunded (its gift was claimed), or None."""
    gift = for_order(order.id)
    if gift is not None and gift.claimed_by is not None:
        return "礼物已被领取，不能退款"
    return None


def void_for_refund(order: Order) -> None:
    """A gift order was refunded in full: its gift can no longer be claimed."""
    db.session.execute(
        sa.update(Gift)
        .where(Gift.order_id == order.id, Gift.voided_at.is_(None))
        .values(voided_at=utcnow())
        .execution_options(synchronize_session=False)
    )


# --- a buyer's shared free read --------------------------------------------------------------


def shared_read(giver: Reader, product: Product) -> Gift:
    """The buyer's one free read of this article to pass on, made the first time they ask."""
    if not product.buyers_share_a_read:
        raise GiftRefused("not_shareable", "作者没有为这篇内容开放请朋友读")
    if giver.is_guest:
        raise GiftRefused("wechat_required", "请先用微信登录，再请朋友读")
    if not entitlements.owns(entitlements.Viewer(reader=giver), product):
        raise GiftRefused("not_owned", "买过这篇内容后才能请朋友读")
    # The giver's row, locked (PostgreSQL; SQLite's write lock is held already): a double
    # click waits here and then finds the first click's gift.
    db.session.execute(sa.select(Reader.id).where(Reader.id == giver.id).with_for_update())
    existing = _shared_by(giver.id, product.id)
    if existing is not None:
        return existing
    gift = Gift(token=new_token(), giver_id=giver.id, product_id=product.id)
    db.session.add(gift)
    db.session.flush()
    return gift


def _shared_by(giver_id: int, product_id: int) -> Gift | None:
    return db.session.scalar(
        sa.select(Gift)
        .where(Gift.giver_id == giver_id, Gift.product_id == product_id, Gift.order_id.is_(None))
        .order_by(Gift.id)
        .limit(1)
    )


def move(from_reader_id: int, to_reader_id: int) -> None:
    """A guest merged into a WeChat reader: the gifts they gave and claimed are the person's.
    (Their one shared read per article may now be two: both stay.)"""
    for column in (Gift.giver_id, Gift.claimed_by):
        db.session.execute(
            sa.update(Gift)
            .where(column == from_reader_id)
            .values({column.key: to_reader_id})
            .execution_options(synchronize_session=False)
        )
