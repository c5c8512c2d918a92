"""Buying: confirm, pay (per channel), wait, and land on the content."""

import io

import qrcode
import qrcode.image.svg
from flask import (
    abort,
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
from app.checkout.after_payment import check_payment
from app.checkout.common import (
    after_payment_url,
    channel_for_this_browser,
    client_ip,
    mweb_url_with_return,
    order_ttl,
    owned_order_or_404,
    pay_page_redirect,
    shop_address,
    snapshot_page_refusal,
)
from app.checkout.gift_views import gift_query
from app.checkout.tip_views import tip_target_url
from app.extensions import db, limiter
from app.models import Order, OrderStatus, PayChannel
from app.models.base import utcnow
from app.money import InvalidAmount, parse_yuan
from app.payments import orders, tips
from app.payments.checkout import (
    CheckoutError,
    cancel_order,
    claim_free,
    link_expired,
    request_prepay,
    start_payment,
)
from app.payments.gateway import current_gateway
from app.payments.order_status import public_order
from app.pricing import coupons, gifts, points, rule
from app.pricing.refusals import PriceRefused
from app.sharing.touch import current_attribution


def _product_for_sale_or_404(slug: str):
    product = queries.find_product(slug)
    if product is None or not entitlements.can_view_product(current_viewer(), product):
        abort(404)
    return product


@bp.get("/p/<slug>/buy")
def buy(slug: str):
    product = _product_for_sale_or_404(slug)
    viewer = current_viewer()
    as_gift = bool(gift_query()) and not product.is_free
    if entitlements.owns(viewer, product) and not as_gift:
        return redirect(url_for("storefront.read", slug=slug))
    channel = channel_for_this_browser()
    needs_wechat_login = channel is PayChannel.JSAPI and (
        viewer.reader is None or viewer.reader.openid is None
    )
    price, price_refusal = _price_asked(product, viewer.reader)
    return render_template(
        "checkout/confirm.html",
        product=product,
        price=price,
        coupon_typed=request.args.get("coupon", "")[:40],
        price_refusal=price_refusal,
        points_usable=_points_usable(product, price, viewer.reader),
        as_gift=as_gift,
        keep=gift_query(),
        channel=channel,
        needs_wechat_login=needs_wechat_login,
        refusal=snapshot_page_refusal(),
    )


def _price_asked(product, reader):
    """The price with what the confirm page's forms put in the address (a coupon; for a
    随心付 item, the amount), or without it and the reason it cannot be had."""
    code = coupons.normalise_code(request.args.get("coupon")) or None
    reader_id = reader.id if reader is not None else None
    try:
        chosen = _chosen_fen(request.args)
        return (
            rule.quote(
                product,
                reader_id,
                coupon_code=code,
                amount_fen=chosen,
                points=_points_wanted(request.args),
            ),
            None,
        )
    except (PriceRefused, InvalidAmount) as refused:
        message = refused.message if isinstance(refused, PriceRefused) else str(refused)
        return rule.quote(product, reader_id), message


def _points_wanted(fields) -> int:
    """Points the reader asked to spend (a number in the form; anything else is none)."""
    typed = fields.get("points", "").strip()
    return int(typed) if typed.isascii() and typed.isdigit() and len(typed) < 10 else 0


def _points_usable(product, price, reader):
    """What the reader's points could take off this price, for the confirm page's offer to
    use them (None when they have none to use here)."""
    if reader is None or product.pay_what_you_want or price.points:
        return None
    usable = points.most_usable(reader.id, price.total_fen, points.settings())
    return usable if usable.points else None


def _chosen_fen(fields) -> int | None:
    """The amount a reader typed for a 随心付 item (yuan), if any."""
    typed = fields.get("amount", "").strip()
    return parse_yuan(typed) if typed else None


@bp.post("/p/<slug>/buy")
@limiter.limit("20 per minute")
def place(slug: str):
    product = _product_for_sale_or_404(slug)
    refusal = snapshot_page_refusal()
    if refusal:
        flash(refusal, "error")
        return redirect(url_for("storefront.product", slug=slug))
    if product.is_free:
        claim_free(ensure_reader(), product)
        flash("已加入你的已购", "info")
        return redirect(url_for("storefront.read", slug=product.slug))
    channel = channel_for_this_browser()
    if request.form.get("channel") == PayChannel.NATIVE.value:
        channel = PayChannel.NATIVE  # "pay with another phone": always possible
    coupon_code = coupons.normalise_code(request.form.get("coupon")) or None
    try:
        chosen_fen = _chosen_fen(request.form)
    except InvalidAmount as error:
        flash(str(error), "error")
        return redirect(url_for(".buy", slug=slug))
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
            attribution=current_attribution(reader.id),
            coupon_code=coupon_code,
            chosen_fen=chosen_fen,
            points_wanted=_points_wanted(request.form),
            as_gift=bool(gift_query()),
        )
    except orders.AlreadyOwned:
        return redirect(url_for("storefront.read", slug=slug))
    except orders.PriceChanged as error:
        flash(error.message, "error")
        return redirect(url_for(".buy", slug=slug, coupon=coupon_code, **gift_query()))
    except PriceRefused as error:
        flash(error.message, "error")
        return redirect(url_for(".buy", slug=slug, **gift_query()))  # without what was refused
    except (orders.OrderError, CheckoutError) as error:
        flash(error.message, "error")
        return redirect(url_for("storefront.product", slug=slug))
    if order.channel is PayChannel.NONE:
        if order.is_gift:
            return redirect(after_payment_url(order))
        flash("无需支付，已加入你的已购", "info")
        return redirect(url_for("storefront.read", slug=slug))
    return pay_page_redirect(order)


def _shown_price_fen() -> int | None:
    """The price the confirm page showed (a form from before this field existed shows none;
    a mangled one is no price at all, so the reader is shown the price again)."""
    shown = request.form.get("price_fen")
    if shown is None:
        return None
    return int(shown) if shown.isascii() and shown.isdigit() else -1


@bp.get("/orders")
def my_orders():
    reader = current_reader()
    found = orders.for_reader(reader) if reader is not None else []
    return render_template("checkout/orders.html", orders=found)


@bp.get("/orders/<out_trade_no>")
def order_page(out_trade_no: str):
    order = owned_order_or_404(out_trade_no)
    order = check_payment(order)
    if order.is_tip and order.holds_money:
        return render_template(
            "checkout/tip_thanks.html",
            order=order,
            thanks_note=tips.settings().thanks_note,
            share_url=tip_target_url(order.product),
            in_wechat=is_wechat_browser(),
        )
    if order.is_gift and order.holds_money and (gift := gifts.for_order(order.id)):
        return redirect(url_for(".gift_page", token=gift.token))
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
    order = check_payment(order)
    return jsonify(public_order(order, after_payment_url))


@bp.post("/orders/<out_trade_no>/check")
@limiter.limit("10 per minute")
def check_now(out_trade_no: str):
    """我已支付: ask WeChat now, unless it was asked in the last few seconds."""
    order = owned_order_or_404(out_trade_no)
    order = check_payment(order, by_reader=True)
    if order.status is OrderStatus.PENDING:
        flash("还没有收到这笔付款。如果已经付款，请稍等几秒再试。", "info")
    return redirect(url_for(".order_page", out_trade_no=out_trade_no))


@bp.post("/orders/<out_trade_no>/cancel")
def cancel(out_trade_no: str):
    order = owned_order_or_404(out_trade_no)
    try:
        cancel_order(current_gateway(), order)
    except CheckoutError as error:
        flash(error.message, "info")
        return redirect(url_for(".order_page", out_trade_no=out_trade_no))
    return redirect(_order_item_url(order))


def _order_item_url(order: Order) -> str:
    if order.product is None:
        return url_for("storefront.about")
    return url_for("storefront.product", slug=order.product.slug)
