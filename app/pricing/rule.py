"""The price rule: what a reader pays for an item, line by line. The one place it is worked out.

    原价                    the item's price
    限时优惠   -            a running offer's price instead
    会员价     -            a member's price, where the reader's pass covers the item and it
                            is lower than the price so far
    优惠券 CODE -           the coupon's discount on the price so far (its minimum spend
                            is checked against that price too)
    积分抵扣    -           points the reader chose to spend, at most the shop's share of
                            the price so far (app/pricing/points.py)
    应付                    what WeChat is asked for; 0 completes the order without paying

An item sold 随心付 (pay what you want) has one line instead: the amount the reader chose,
at least the item's minimum; it takes no offer and no coupon (its price is already the
reader's to set), and no points.

The confirm page shows these lines, the order keeps them (Order.price_lines), and the
order's amount is their total, which the payment notification must match to the fen.
"""

from dataclasses import dataclass
from datetime import datetime

from app.catalog import entitlements
from app.models import Product
from app.models.base import utcnow
from app.models.pricing import Coupon, Offer
from app.money import MAX_CHOSEN_FEN, format_fen
from app.pricing import coupons, offers
from app.pricing import points as points_ledger
from app.pricing.refusals import CouponRefused, PriceRefused


@dataclass(frozen=True)
class PriceLine:
    kind: str  # list, offer, member, coupon, points; chosen (随心付)
    label: str
    fen: int  # the list price, then each discount as a negative amount


@dataclass(frozen=True)
class Quote:
    product_id: int
    lines: tuple[PriceLine, ...]
    offer: Offer | None = None
    coupon: Coupon | None = None
    points: int = 0  # what the points line takes from the reader's balance

    @property
    def list_price_fen(self) -> int:
        return self.lines[0].fen

    @property
    def total_fen(self) -> int:
        return sum(line.fen for line in self.lines)

    @property
    def discounts(self) -> tuple[PriceLine, ...]:
        return self.lines[1:]

    def line(self, kind: str) -> PriceLine | None:
        return next((line for line in self.lines if line.kind == kind), None)

    def snapshot(self) -> list[dict]:
        """The lines as the order keeps them."""
        return [{"kind": line.kind, "label": line.label, "fen": line.fen} for line in self.lines]


def quote(
    product: Product,
    reader_id: int | None,
    *,
    coupon_code: str | None = None,
    amount_fen: int | None = None,
    points: int = 0,
    now: datetime | None = None,
) -> Quote:
    """What `reader_id` (None: someone not yet known) pays for `product` now, with the
    coupon typed, if any, up to `points` of their points spent, and for a 随心付 item the
    amount chosen (None: the suggested one). Raises CouponRefused when the coupon does not
    apply, PriceRefused for an amount that may not be chosen or points they do not have."""
    now = now or utcnow()
    if product.pay_what_you_want:
        if points:
            raise PriceRefused("points_not_for_item", "随心付的内容不能用积分抵扣")
        return _chosen(product, amount_fen, coupon_code)
    if amount_fen is not None:
        raise PriceRefused("amount_not_allowed", "这件商品价格固定，不能自选金额")
    lines = [PriceLine("list", "原价", product.price_fen)]
    offer = offers.active_offer(product.id, now)
    if offer is not None:
        lines.append(PriceLine("offer", "限时优惠", offer.price_fen - product.price_fen))
    price_so_far = sum(line.fen for line in lines)
    member_price = product.member_price_fen
    if (
        member_price is not None
        and member_price < price_so_far
        and entitlements.member_price_applies(reader_id, product)
    ):
        lines.append(PriceLine("member", "会员价", member_price - price_so_far))
    coupon = None
    if coupon_code:
        coupon = coupons.find(coupon_code)
        price_so_far = sum(line.fen for line in lines)
        coupons.check(coupon, product, reader_id, price_so_far, now)
        lines.append(
            PriceLine(
                "coupon",
                f"优惠券 {coupon.code}",
                -coupons.discount_fen(coupon, price_so_far),
            )
        )
    spent = _points_line(reader_id, product.id, points, sum(line.fen for line in lines))
    if spent is not None:
        lines.append(spent[0])
    return Quote(
        product.id, tuple(lines), offer=offer, coupon=coupon, points=spent[1] if spent else 0
    )


def _points_line(reader_id: int | None, product_id: int, wanted: int, price_fen: int):
    """The 积分抵扣 line and the points it takes, or None when no points are spent."""
    if wanted <= 0:
        return None
    rates = points_ledger.settings()
    if not rates.spending:
        raise PriceRefused("points_disabled", "本店暂不支持积分抵扣")
    taken = points_ledger.redemption(wanted, price_fen, rates)
    if taken.points == 0:
        return None
    points_ledger.check_balance(reader_id, taken.points, product_id)
    return PriceLine("points", f"积分抵扣（{taken.points} 积分）", -taken.fen), taken.points


def _chosen(product: Product, amount_fen: int | None, coupon_code: str | None) -> Quote:
    if coupon_code:
        raise CouponRefused("coupon_not_for_item", "随心付的内容不能使用优惠券")
    amount = product.price_fen if amount_fen is None else amount_fen
    if amount < product.min_price_fen:
        raise PriceRefused(
            "amount_too_low", f"这件商品最少支付 {format_fen(product.min_price_fen)}"
        )
    if amount > MAX_CHOSEN_FEN:
        raise PriceRefused("amount_too_high", f"单笔最多支付 {format_fen(MAX_CHOSEN_FEN)}")
    return Quote(product.id, (PriceLine("chosen", "随心付", amount),))


def price_before(quote_: Quote, kind: str) -> int:
    """The price the lines before the first `kind` line come to (what a coupon's minimum
    spend and its percentage were measured against)."""
    total = 0
    for line in quote_.lines:
        if line.kind == kind:
            return total
        total += line.fen
    return total
