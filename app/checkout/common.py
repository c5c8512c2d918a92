"""What the checkout views share: finding the reader's order, the shop's address, channels."""

from datetime import timedelta
from urllib.parse import quote

from flask import abort, current_app, redirect, request, url_for

from app.accounts.session import current_reader, in_snapshot_page, is_wechat_browser
from app.catalog.queries import shop_profile
from app.models import Order, OrderStatus, PayChannel
from app.payments import orders
from app.payments.checkout import ShopAddress
from app.web.public_address import public_url

_MOBILE_MARKERS = ("Mobile", "Android", "iPhone", "iPad", "HarmonyOS")

# WeChat's snapshot page has a bar at the bottom whose button on the right, 使用完整服务,
# opens the real page, where WeChat tells the shop who the reader is.
SNAPSHOT_PAGE_REFUSAL = (
    "当前是朋友圈快照页，不能购买或赞赏。请轻触屏幕右下角的「使用完整服务」，在完整页面中继续。"
)


def owned_order_or_404(out_trade_no: str) -> Order:
    """The order, if it is the current reader's. Someone else's order id is simply not found."""
    reader = current_reader()
    order = orders.find(out_trade_no) if len(out_trade_no) <= 32 else None
    if order is None or reader is None or order.reader_id != reader.id:
        abort(404)
    return order


def snapshot_page_refusal() -> str | None:
    """Why this browser may not buy, claim or tip: WeChat shows the shop as a snapshot page,
    whose cookies vanish when the reader leaves it, with everything bought there."""
    return SNAPSHOT_PAGE_REFUSAL if in_snapshot_page() else None


def channel_for_this_browser() -> PayChannel:
    if is_wechat_browser():
        return PayChannel.JSAPI
    agent = request.headers.get("User-Agent", "")
    if any(marker in agent for marker in _MOBILE_MARKERS):
        return PayChannel.H5
    return PayChannel.NATIVE


def shop_address() -> ShopAddress:
    return ShopAddress(
        notify_url=public_url("checkout.payment_notify"),
        site_url=public_url("storefront.home"),
        site_name=shop_profile().name,
    )


def order_ttl() -> timedelta:
    return timedelta(minutes=current_app.config["ORDER_TTL_MINUTES"])


def query_floor() -> timedelta:
    """The least time between two queries to WeChat about one order (it grows with age)."""
    return timedelta(seconds=current_app.config["PAY_QUERY_MIN_INTERVAL"])


def client_ip() -> str:
    # With PROXY_FIX_HOPS set, ProxyFix has already put the reader's address here.
    return request.remote_addr or "127.0.0.1"


def after_payment_url(order: Order) -> str:
    """Where a paid order takes the reader: a purchase to its content, a tip to its thanks,
    a gift to its link (through the order's page, which finds it)."""
    if order.is_tip or order.is_gift:
        return url_for("checkout.order_page", out_trade_no=order.out_trade_no)
    if order.product.is_membership:
        return url_for("accounts.my_membership")
    return url_for("storefront.read", slug=order.product.slug)


def pay_page_redirect(order: Order):
    """After an order is placed: WeChat's H5 cashier for phone browsers, else our pay page."""
    if order.channel is PayChannel.H5 and order.mweb_url and order.status is OrderStatus.PENDING:
        return redirect(mweb_url_with_return(order))  # start_payment made sure it is fresh
    return redirect(url_for("checkout.order_page", out_trade_no=order.out_trade_no))


def mweb_url_with_return(order: Order) -> str:
    """The H5 link with the page WeChat returns the reader to after paying."""
    back = url_for("checkout.order_page", out_trade_no=order.out_trade_no, _external=True)
    separator = "&" if "?" in order.mweb_url else "?"
    return f"{order.mweb_url}{separator}redirect_url={quote(back, safe='')}"
