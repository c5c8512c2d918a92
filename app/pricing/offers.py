"""Limited-time offers (限时优惠): a sale price for one item between a start and an end.

An item has at most one offer at any moment (the studio refuses overlapping ones), so
"the price now" never depends on which of two offers wins.
"""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import Product
from app.models.base import utcnow
from app.models.pricing import Offer
from app.pricing.refusals import PromotionInvalid


class OfferRefused(PromotionInvalid):
    """The studio's offer cannot be saved; the message says why, for the creator."""


def active_offer(product_id: int, now: datetime | None = None) -> Offer | None:
    now = now or utcnow()
    return db.session.scalar(
        sa.select(Offer).where(
            Offer.product_id == product_id, Offer.starts_at <= now, Offer.ends_at > now
        )
    )


def running_offers(now: datetime | None = None) -> dict[int, Offer]:
    """Every offer running now, by item id (a page of many items asks once)."""
    now = now or utcnow()
    found = db.session.scalars(sa.select(Offer).where(Offer.starts_at <= now, Offer.ends_at > now))
    return {offer.product_id: offer for offer in found}


def listing() -> list[Offer]:
    """Every offer, the latest start first (the studio's list)."""
    return list(
        db.session.scalars(
            sa.select(Offer)
            .options(selectinload(Offer.product))
            .order_by(Offer.starts_at.desc(), Offer.id.desc())
        )
    )


def create(
    product: Product,
    price_fen: int,
    starts_at: datetime,
    ends_at: datetime,
    now: datetime | None = None,
) -> Offer:
    """A new offer, checked: cheaper than the item, over in the future, not overlapping."""
    now = now or utcnow()
    if product.is_free:
        raise OfferRefused("免费商品不需要限时优惠")
    if product.pay_what_you_want:
        raise OfferRefused("随心付的商品由读者定价，不设限时优惠")
    if not 0 < price_fen < product.price_fen:
        raise OfferRefused("优惠价须低于原价，且大于 0")
    if ends_at <= starts_at:
        raise OfferRefused("结束时间须晚于开始时间")
    if ends_at <= now:
        raise OfferRefused("结束时间已经过去了")
    overlapping = db.session.scalar(
        sa.select(Offer.id).where(
            Offer.product_id == product.id, Offer.starts_at < ends_at, Offer.ends_at > starts_at
        )
    )
    if overlapping is not None:
        raise OfferRefused("这段时间已有另一个限时优惠")
    offer = Offer(product_id=product.id, price_fen=price_fen, starts_at=starts_at, ends_at=ends_at)
    db.session.add(offer)
    db.session.flush()
    return offer


def end_now(offer: Offer, now: datetime | None = None) -> None:
    """Stop an offer: one not yet started is removed, a running one ends now (orders
    placed under it keep the price they were placed at)."""
    now = now or utcnow()
    if offer.starts_at >= now:
        db.session.delete(offer)
    elif offer.ends_at > now:
        offer.ends_at = now
