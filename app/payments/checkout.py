"""Checkout: starting a payment (the order, WeChat's prepay, what the pay page needs),
cancelling one the reader gave up, and claiming a free item, which needs no order.

Never holds a write transaction while talking to WeChat: the order is committed first,
WeChat is called, then the prepay is recorded in a second short transaction.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from app.catalog import entitlements
from app.extensions import db
from app.models import (
    EntitlementSource,
    Order,
    OrderKind,
    OrderStatus,
    PayChannel,
    PaymentEventKind,
    Product,
    Reader,
)
from app.models.base import utcnow
from app.payments import orders, tips
from app.payments.attribution import DIRECT, Attribution
from app.payments.gateway import GatewayError, PaymentGateway, PrepayRequest
from app.pricing import rule
from app.transactions import begin_write, writing

log = logging.getLogger(__name__)


class CheckoutError(Exception):
    """Payment could not start; `message` is for the reader."""

    def __init__(self, message: str, code: str = "checkout_failed"):
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class ShopAddress:
    """What WeChat needs to know about where the shop is."""

    notify_url: str
    site_url: str
    site_name: str


# WeChat's H5 link (mweb_url) lives five minutes; a fresh one is asked for a little before.
MWEB_LINK_LIFETIME = timedelta(minutes=4)


def start_payment(
    gateway: PaymentGateway,
    reader: Reader,
    product: Product,
    channel: PayChannel,
    client_ip: str,
    address: ShopAddress,
    ttl: timedelta,
    rec_slot: str | None = None,
    shown_price_fen: int | None = None,
    attribution: Attribution = DIRECT,
    coupon_code: str | None = None,
    chosen_fen: int | None = None,
    points_wanted: int = 0,
    as_gift: bool = False,
) -> Order:
    """Pay for a product at the price the price rule gives now with the coupon typed and
    the points chosen (or, for a 随心付 item, the amount chosen), which must be
    `shown_price_fen` when given (what the reader's page showed): a price changed
    meanwhile is refused, nothing closed. A price of 0 comes back paid, WeChat not asked.
    `as_gift`: bought for a friend (app/pricing/gifts.py)."""
    price = rule.quote(
        product, reader.id, coupon_code=coupon_code, amount_fen=chosen_fen, points=points_wanted
    )
    orders.check_price_shown(price, shown_price_fen)
    if price.total_fen:  # nothing to pay, nothing for WeChat to know of the payer
        _require_openid_for_jsapi(reader, channel)
    previous = orders.open_order(reader, product, as_gift=as_gift)
    if previous is not None and previous.prepay_id:
        reason = orders.replacement_reason(previous, price, channel, utcnow())
        if reason in ("replaced", "repriced"):  # an expired one can no longer be paid
            _close_at_wechat(gateway, previous.out_trade_no, reason)
    order = _committed(
        lambda: orders.place_order(
            reader,
            product,
            channel,
            client_ip,
            ttl,
            rec_slot=rec_slot,
            attribution=attribution,
            coupon_code=coupon_code,
            chosen_fen=chosen_fen,
            points_wanted=points_wanted,
            expected_total_fen=price.total_fen,
            as_gift=as_gift,
        )
    )
    if order.channel is PayChannel.NONE:
        return order
    return _prepay_once(gateway, order, address)


def start_tip(
    gateway: PaymentGateway,
    reader: Reader,
    request: tips.TipRequest,
    channel: PayChannel,
    client_ip: str,
    address: ShopAddress,
    ttl: timedelta,
    attribution: Attribution = DIRECT,
) -> Order:
    """A tip pays like a purchase: its order first, then WeChat's prepay."""
    _require_openid_for_jsapi(reader, channel)
    order = _committed(
        lambda: tips.place_tip(reader, request, channel, client_ip, ttl, attribution=attribution)
    )
    return _prepay_once(gateway, order, address)


def _committed(place: Callable[[], Order]) -> Order:
    """Place an order in its own short write transaction, before WeChat is called."""
    with writing():
        return place()


def _require_openid_for_jsapi(reader: Reader, channel: PayChannel) -> None:
    if channel is PayChannel.JSAPI and not reader.openid:
        raise CheckoutError("请先在微信中授权登录", code="openid_required")


def _prepay_once(gateway: PaymentGateway, order: Order, address: ShopAddress) -> Order:
    if order.prepay_id and not link_expired(order):
        return order  # a double click: the first request already asked WeChat
    return request_prepay(gateway, order, address)


def link_expired(order: Order) -> bool:
    """Whether an H5 order needs a fresh mweb_url before the reader is sent to it."""
    if order.channel is not PayChannel.H5:
        return False
    return order.prepay_at is None or utcnow() - order.prepay_at > MWEB_LINK_LIFETIME


def request_prepay(gateway: PaymentGateway, order: Order, address: ShopAddress) -> Order:
    """统一下单 for an order; asked again, WeChat sees identical parameters (the stored times,
    IP and amount) and answers with the same prepay and, for H5, a renewed link."""
    request = PrepayRequest(
        out_trade_no=order.out_trade_no,
        description=f"{address.site_name}-{order.title}"[:40],
        amount_fen=order.amount_fen,
        trade_type=order.channel.trade_type,
        notify_url=address.notify_url,
        client_ip=order.client_ip,
        time_start=order.created_at,
        time_expire=order.expires_at,
        product_id=str(order.product_id) if order.product_id else "tip",
        payer_openid=order.reader.openid if order.channel is PayChannel.JSAPI else None,
        site_url=address.site_url,
        site_name=address.site_name,
    )
    try:
        prepay = gateway.create_prepay(request)
    except GatewayError as error:
        begin_write()
        orders.record_event(
            orders.find(order.out_trade_no),
            PaymentEventKind.PREPAY_FAILED,
            code=error.code,
            message=error.message,
        )
        db.session.commit()
        if error.code == "ORDERPAID":
            return orders.find(order.out_trade_no)  # paid meanwhile: the pay page's query sees it
        raise CheckoutError("微信支付暂时不可用，请稍后再试") from error

    begin_write()
    order = orders.find(order.out_trade_no)
    orders.attach_prepay(order, prepay.prepay_id, prepay.code_url, prepay.mweb_url)
    db.session.commit()
    return order


def claim_free(reader: Reader, product: Product) -> None:
    """A free item needs no order: the reader has it at once, in 已购 like a purchase."""
    with writing():
        entitlements.grant(reader, product, EntitlementSource.FREE)


def cancel_order(gateway: PaymentGateway, order: Order) -> None:
    """The reader gives up an unpaid order: closed at WeChat first, then here. An order
    that is no longer pending is left as it is.

    Closing here alone would leave the QR payable at WeChat, and a second order could then
    be paid too; so when WeChat refuses (it does in an order's first five minutes) nothing
    is closed and CheckoutError says to let the order expire instead.
    """
    if order.status is not OrderStatus.PENDING:
        return
    try:
        gateway.close(order.out_trade_no)
    except GatewayError as error:
        log.info("close at WeChat failed for %s: %s", order.out_trade_no, error)
        raise CheckoutError(
            "订单刚刚创建，微信要求 5 分钟后才能取消。不支付即可，它会到期自动关闭。",
            code="close_refused",
        ) from error
    with writing():
        orders.close(orders.find(order.out_trade_no), "cancelled")


_STILL_OPEN = {
    "replaced": "这件商品还有一笔刚发起、未完成的支付。请在原来的页面完成支付，或 5 分钟后再试。",
    "repriced": "这件商品刚刚调整了价格，你还有一笔按原价发起、未完成的支付。"
    "请在原来的页面按原价完成支付，或 5 分钟后按新价格购买。",
}


def close_before_merge(gateway: PaymentGateway, guest: Reader | None, openid: str) -> None:
    """Before a guest signs in as the WeChat reader `openid` already is: where both have an
    open order for the same item, the merge closes one (open_orders_a_merge_closes);
    close it at WeChat first, outside any write transaction.

    Signing in must not fail on it. WeChat refuses in an order's first five minutes (or is
    unreachable): the merge closes it here all the same and it stays payable at WeChat
    until reconcile closes it there or it expires; a payment that arrives meanwhile is
    honoured (closed -> paid). If WeChat says it was paid, that is recorded now.
    """
    target = db.session.scalar(sa.select(Reader).where(Reader.openid == openid))
    if guest is None or not guest.is_guest or target is None or target.id == guest.id:
        db.session.commit()
        return
    duplicates = [
        order.out_trade_no for order in open_orders_a_merge_closes(guest, target) if order.prepay_id
    ]
    db.session.commit()  # the reads end here: no transaction is held while WeChat answers
    for out_trade_no in duplicates:
        try:
            gateway.close(out_trade_no)
        except GatewayError as error:
            if error.code == "ORDERPAID":
                _record_paid(gateway, out_trade_no)
            else:
                log.info("left for reconcile to close at WeChat: %s (%s)", out_trade_no, error)


def open_orders_a_merge_closes(guest: Reader, target: Reader) -> list[Order]:
    """Where the guest and the reader it merges into both have an open order for the same
    item: the older of each pair, which the merge closes.

    The newer is kept: it is the one the reader placed last, most likely the one on their
    screen, and the one with the most time left to pay. Closing it at WeChat is the
    caller's, before the merge (close_before_merge).
    """
    open_purchases = (
        sa.select(Order)
        .where(
            Order.reader_id.in_((guest.id, target.id)),
            Order.kind == OrderKind.PURCHASE,
            Order.status == OrderStatus.PENDING,
            Order.is_gift.is_(False),  # gifts for friends: as many as the reader likes
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


def _record_paid(gateway: PaymentGateway, out_trade_no: str) -> None:
    from app.payments.reconcile import sync_order

    try:
        sync_order(gateway, out_trade_no)
    except GatewayError:
        db.session.rollback()  # the notification or a later query records it


def _close_at_wechat(gateway: PaymentGateway, out_trade_no: str, reason: str) -> None:
    """Before an order is replaced (the reader moved from the desktop QR to WeChat, say, or
    the price changed), close it at WeChat, so the old QR cannot take a second payment for
    the same thing.

    WeChat refuses to close an order in its first five minutes. Then the old order stays
    and the reader is told to finish it, or to come back shortly: never two payable orders.
    If WeChat says it was paid meanwhile, that is recorded, and place_order then finds the
    reader owns the product.
    """
    try:
        gateway.close(out_trade_no)
    except GatewayError as error:
        if error.code != "ORDERPAID":
            raise CheckoutError(_STILL_OPEN[reason], code="previous_order_open") from error
        _record_paid(gateway, out_trade_no)
