"""Buying: confirm, pay (per channel), wait, and land on the content."""

import io

import qrcode
import qrcode.image.svg
from flask import (
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)

from app.accounts.session import (
    current_reader,
    current_viewer,
    ensure_reader,
    is_wechat_browser,
)
from app.analytics import counters
from app.catalog import entitlements, queries
from app.checkout import bp
from app.checkout.common import (
    channel_for_this_browser,
    client_ip,
    mweb_url_with_return,
    order_ttl,
    owned_order_or_404,
    pay_page_redirect,
    query_floor,
    shop_address,
)
from app.checkout.tip_views import tip_target_url
from app.extensions import db, limiter
from app.models import EntitlementSource, Order, OrderStatus, PayChannel
from app.models.base import utcnow
from app.payments import orders, reconcile, tips
from app.payments.checkout import CheckoutError, link_expired, request_prepay, start_payment
from app.payments.gateway import GatewayError, current_gateway
from app.transactions import begin_write


def _product_for_sale_or_404(slug: str):
    product = queries.find_product(slug)
    if product is None or not entitlements.can_view_product(current_viewer(), product):
        abort(404)
    return product


@bp.get("/p/<slug>/buy")
def buy(slug: str):
    product = _product_for_sale_or_404(slug)
    viewer = current_viewer()
    if entitlements.owns(viewer, product):
        return redirect(url_for("storefront.read", slug=slug))
    channel = channel_for_this_browser()
    needs_wechat_login = channel is PayChannel.JSAPI and (
        viewer.reader is None or viewer.reader.openid is None
    )
    return render_template(
        "checkout/confirm.html",
        product=product,
        channel=channel,
        needs_wechat_login=needs_wechat_login,
    )


@bp.post("/p/<slug>/buy")
@limiter.limit("20 per minute")
def place(slug: str):
    product = _product_for_sale_or_404(slug)
    if product.is_free:
        return _claim_free(product)
    channel = channel_for_this_browser()
    if request.form.get("channel") == PayChannel.NATIVE.value:
        channel = PayChannel.NATIVE  # "pay with another phone": always possible
    reader = ensure_reader()
    db.session.commit()
    try:
        order = start_payment(
            current_gateway(),
            reader,
            product,
            channel,
            client_ip(),
            shop_address(),
            order_ttl(),
            rec_slot=counters.clicked_slot(slug),
            shown_price_fen=_shown_price_fen(),
        )
    except orders.AlreadyOwned:
        return redirect(url_for("storefront.read", slug=slug))
    except orders.PriceChanged as error:
        flash(error.message, "error")
        return redirect(url_for(".buy", slug=slug))  # the confirm page, at the new price
    except (orders.OrderError, CheckoutError) as error:
        flash(error.message, "error")
        return redirect(url_for("storefront.product", slug=slug))
    return pay_page_redirect(order)


def _shown_price_fen() -> int | None:
    """The price the confirm page showed (a form from before this field existed shows none;
    a mangled one is no price at all, so the reader is shown the price again)."""
    shown = request.form.get("price_fen")
    if shown is None:
        return None
    return int(shown) if shown.isascii() and shown.isdigit() else -1


def _claim_free(product):
    reader = ensure_reader()
    begin_write()
    entitlements.grant(reader, product, EntitlementSource.FREE)
    db.session.commit()
    flash("已加入你的已购", "info")
    return redirect(url_for("storefront.read", slug=product.slug))


@bp.get("/orders")
def my_orders():
    reader = current_reader()
    found = orders.for_reader(reader) if reader is not None else []
    return render_template("checkout/orders.html", orders=found)


@bp.get("/orders/<out_trade_no>")
def order_page(out_trade_no: str):
    order = owned_order_or_404(out_trade_no)
    order = reconcile.check_if_due(current_gateway(), order, query_floor())
    if order.is_tip and order.holds_money:
        return render_template(
            "checkout/tip_thanks.html",
            order=order,
            thanks_note=tips.settings().thanks_note,
            share_url=tip_target_url(order.product),
            in_wechat=is_wechat_browser(),
        )
    if order.status is not OrderStatus.PENDING or not order.is_open:
        return render_template("checkout/order_status.html", order=order)
    if order.prepay_id is None:
        return render_template("checkout/order_status.html", order=order, prepay_missing=True)
    template = {
        PayChannel.NATIVE: "checkout/pay_native.html",
        PayChannel.JSAPI: "checkout/pay_jsapi.html",
        PayChannel.H5: "checkout/pay_h5.html",
    }[order.channel]
    if link_expired(order):
        try:
            order = request_prepay(current_gateway(), order, shop_address())
        except CheckoutError as error:
            flash(error.message, "error")
    jsapi = None
    if order.channel is PayChannel.JSAPI:
        jsapi = current_gateway().jsapi_parameters(order.prepay_id)
    return render_template(
        template,
        order=order,
        jsapi=jsapi,
        mweb_url=mweb_url_with_return(order) if order.channel is PayChannel.H5 else None,
        in_wechat=is_wechat_browser(),
        seconds_left=max(0, int((order.expires_at - utcnow()).total_seconds())),
    )


@bp.get("/orders/<out_trade_no>/qr.<any(png, svg):fmt>")
def order_qr(out_trade_no: str, fmt: str):
    order = owned_order_or_404(out_trade_no)
    if order.code_url is None or not order.is_open:
        abort(404)
    buffer = io.BytesIO()
    if fmt == "svg":
        qrcode.make(order.code_url, image_factory=qrcode.image.svg.SvgPathImage).save(buffer)
        mimetype = "image/svg+xml"
    else:
        qrcode.make(order.code_url, box_size=8, border=2).save(buffer)
        mimetype = "image/png"
    buffer.seek(0)
    response = send_file(buffer, mimetype=mimetype, max_age=0)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/orders/<out_trade_no>/status")
@limiter.limit("120 per minute")
def order_status(out_trade_no: str):
    """Polled by the pay pages, less often as time passes (static/js/pay-schedule.js).
    Asks WeChat itself only as often as reconcile.query_due allows, however often it is
    polled."""
    order = owned_order_or_404(out_trade_no)
    order = reconcile.check_if_due(current_gateway(), order, query_floor())
    return jsonify(order_json(order))


def order_json(order: Order) -> dict:
    done = None
    if order.status is OrderStatus.PAID:
        # A purchase goes to its content; a tip to its thank-you page.
        if order.is_tip:
            done = url_for("checkout.order_page", out_trade_no=order.out_trade_no)
        else:
            done = url_for("storefront.read", slug=order.product.slug)
    return {
        "out_trade_no": order.out_trade_no,
        "kind": order.kind.value,
        "status": _public_status(order),
        "amount_fen": order.amount_fen,
        "expires_at": order.expires_at.isoformat(),
        "paid_at": order.paid_at.isoformat() if order.paid_at else None,
        "next": done,
    }


def _public_status(order: Order) -> str:
    if order.status is OrderStatus.PARTIALLY_REFUNDED:
        return "paid"  # still paid for: part of the money came back
    if order.status is OrderStatus.PENDING and not order.is_open:
        return "closed"  # expired: closed here for the reader even before reconcile runs
    return order.status.value


@bp.post("/orders/<out_trade_no>/check")
@limiter.limit("10 per minute")
def check_now(out_trade_no: str):
    """我已支付: ask WeChat now, unless it was asked in the last few seconds."""
    order = owned_order_or_404(out_trade_no)
    order = reconcile.check_if_due(current_gateway(), order, query_floor(), by_reader=True)
    if order.status is OrderStatus.PENDING:
        flash("还没有收到这笔付款。如果已经付款，请稍等几秒再试。", "info")
    return redirect(url_for(".order_page", out_trade_no=out_trade_no))


@bp.post("/orders/<out_trade_no>/cancel")
def cancel(out_trade_no: str):
    order = owned_order_or_404(out_trade_no)
    if order.status is OrderStatus.PENDING:
        try:
            current_gateway().close(order.out_trade_no)
        except GatewayError as error:
            # Closing here alone would leave the QR payable at WeChat, and a second order
            # could then be paid too. WeChat refuses in an order's first five minutes.
            current_app.logger.info("close at WeChat failed for %s: %s", out_trade_no, error)
            flash("订单刚刚创建，微信要求 5 分钟后才能取消。不支付即可，它会到期自动关闭。", "info")
            return redirect(url_for(".order_page", out_trade_no=out_trade_no))
        begin_write()
        orders.close(orders.find(out_trade_no), "cancelled")
        db.session.commit()
    return redirect(_order_item_url(order))


def _order_item_url(order: Order) -> str:
    if order.product is None:
        return url_for("storefront.about")
    return url_for("storefront.product", slug=order.product.slug)
