"""The JSON API: the contract for integrations and a future mini program.

Bodies must be JSON (Content-Type: application/json): a form on another site cannot send
that without a CORS preflight, which the shop never grants, so these writes need no CSRF
token. Errors are {"error": {"code", "message"}} with a Chinese message.
"""

from flask import current_app, jsonify, request, url_for

from app.accounts.session import current_reader, ensure_reader
from app.catalog import entitlements, queries
from app.checkout import api
from app.checkout.common import (
    after_payment_url,
    client_ip,
    order_ttl,
    owned_order_or_404,
    shop_address,
    snapshot_page_refusal,
)
from app.extensions import csrf, db, limiter
from app.models import PayChannel
from app.payments import orders, tips
from app.payments.checkout import CheckoutError, claim_free, start_payment, start_tip
from app.payments.gateway import current_gateway
from app.payments.order_status import public_order
from app.pricing import offers
from app.pricing.refusals import PriceRefused
from app.sharing.touch import current_attribution

csrf.exempt(api)
limiter.limit(lambda: current_app.config["API_RATE_LIMIT"])(api)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@api.errorhandler(ApiError)
def api_error(error: ApiError):
    return jsonify(error={"code": error.code, "message": error.message}), error.status


@api.get("/products")
def products():
    owned = entitlements.owned_product_ids(entitlements.Viewer(reader=current_reader()))
    running = offers.running_offers()
    return jsonify(
        items=[
            {
                "slug": p.slug,
                "title": p.title,
                "type": p.kind.value,
                "price_fen": p.price_fen,
                # A limited-time offer's price and end, when one runs: what is paid now.
                "offer": {
                    "price_fen": running[p.id].price_fen,
                    "ends_at": running[p.id].ends_at.isoformat(),
                }
                if p.id in running
                else None,
                "summary": p.summary,
                "tags": [t.slug for t in p.tags],
                "owned": p.id in owned,
                "url": url_for("storefront.product", slug=p.slug, _external=True),
            }
            for p in queries.latest_products(limit=500)
        ]
    )


@api.post("/orders")
@limiter.limit("20 per minute")
def create_order():
    """{"product": slug, "channel", and optionally "price_fen" (the total the client
    showed), "coupon", "points" (at most this many of the reader's points to spend),
    "amount_fen" (what the reader chose for a 随心付 item), "gift" (bought for a friend:
    once paid, the order's page leads to the gift link)}: 201 with
    the order, whose amount_fen is the price after them (status "paid" at once when that
    is 0), or 400 with a code for the reason the price cannot be had."""
    payload = _json_body()
    _refuse_in_snapshot_page()
    slug, channel_name = payload.get("product"), payload.get("channel")
    if not isinstance(slug, str) or not slug:
        raise ApiError(400, "bad_request", "缺少商品 product")
    try:
        channel = PayChannel(channel_name)
    except ValueError:
        raise ApiError(400, "bad_channel", "channel 须为 native、jsapi 或 h5") from None
    product = queries.find_product(slug)
    if product is None or not product.is_published:
        raise ApiError(404, "not_found", "商品不存在")

    shown_price_fen = payload.get("price_fen")
    if shown_price_fen is not None and (type(shown_price_fen) is not int or shown_price_fen < 0):
        raise ApiError(400, "bad_price", "price_fen 须为整数（分）")
    coupon_code = payload.get("coupon")
    if coupon_code is not None and not isinstance(coupon_code, str):
        raise ApiError(400, "bad_coupon", "coupon 须为优惠码字符串")
    chosen_fen = payload.get("amount_fen")
    if chosen_fen is not None and (type(chosen_fen) is not int or chosen_fen < 0):
        raise ApiError(400, "bad_amount", "amount_fen 须为整数（分）")
    points_wanted = payload.get("points", 0)
    if type(points_wanted) is not int or points_wanted < 0:
        raise ApiError(400, "bad_points", "points 须为非负整数")
    as_gift = payload.get("gift", False)
    if not isinstance(as_gift, bool):
        raise ApiError(400, "bad_gift", "gift 须为 true 或 false")

    reader = ensure_reader()
    db.session.commit()
    if product.is_free:
        claim_free(reader, product)
        return jsonify(status="claimed", product=product.slug), 200
    try:
        order = start_payment(
            current_gateway(),
            reader,
            product,
            channel,
            client_ip(),
            shop_address(),
            order_ttl(),
            shown_price_fen=shown_price_fen,
            attribution=current_attribution(reader.id),
            coupon_code=coupon_code or None,
            chosen_fen=chosen_fen,
            points_wanted=points_wanted,
            as_gift=as_gift,
        )
    except (orders.AlreadyOwned, orders.PriceChanged) as error:
        raise ApiError(409, error.code, error.message) from None
    except PriceRefused as error:
        raise ApiError(400, error.code, error.message) from None
    except orders.OrderError as error:
        raise ApiError(400, error.code, error.message) from None
    except CheckoutError as error:
        raise _checkout_failed(error) from None
    return jsonify(_payment_body(order)), 201


@api.post("/tips")
@limiter.limit("20 per minute")
def create_tip():
    """赞赏 {"target": slug or "creator", "amount_fen", "message", "anonymous", "channel"},
    and optionally "name": what the supporter wall calls the reader."""
    payload = _json_body()
    _refuse_in_snapshot_page()
    try:
        channel = PayChannel(payload.get("channel"))
    except ValueError:
        raise ApiError(400, "bad_channel", "channel 须为 native、jsapi 或 h5") from None
    try:
        product = tips.find_target(payload.get("target"))
    except tips.TipRefused as error:
        raise ApiError(404, error.code, error.message) from None
    anonymous = payload.get("anonymous", False)
    if not isinstance(anonymous, bool):
        raise ApiError(400, "bad_anonymous", "anonymous 须为 true 或 false")
    try:
        request_ = tips.TipRequest(
            product=product,
            amount_fen=tips.check_amount_fen(payload.get("amount_fen"), tips.settings()),
            message=tips.clean_message(payload.get("message")),
            anonymous=anonymous,
            request_token=tips.new_request_token(),
            display_name=tips.clean_name(payload.get("name")),
        )
        reader = ensure_reader()
        db.session.commit()
        order = start_tip(
            current_gateway(),
            reader,
            request_,
            channel,
            client_ip(),
            shop_address(),
            order_ttl(),
            attribution=current_attribution(reader.id),
        )
    except orders.OrderError as error:
        raise ApiError(400, error.code, error.message) from None
    except CheckoutError as error:
        raise _checkout_failed(error) from None
    return jsonify(_payment_body(order)), 201


def _refuse_in_snapshot_page() -> None:
    refusal = snapshot_page_refusal()
    if refusal:
        raise ApiError(403, "snapshot_page", refusal)


def _checkout_failed(error: CheckoutError) -> ApiError:
    status = 403 if error.code == "openid_required" else 502
    return ApiError(status, error.code, error.message)


def _payment_body(order) -> dict:
    """An order's status plus what its channel needs to pay it."""
    body = public_order(order, after_payment_url)
    if order.channel is PayChannel.NATIVE:
        body["code_url"] = order.code_url
        body["qr_url"] = url_for(
            "checkout.order_qr", out_trade_no=order.out_trade_no, fmt="png", _external=True
        )
    elif order.channel is PayChannel.JSAPI and order.prepay_id:
        body["jsapi"] = current_gateway().jsapi_parameters(order.prepay_id)
    elif order.channel is PayChannel.H5:
        body["mweb_url"] = order.mweb_url
    body["pay_url"] = url_for(
        "checkout.order_page", out_trade_no=order.out_trade_no, _external=True
    )
    return body


@api.get("/orders/<out_trade_no>")
def get_order(out_trade_no: str):
    order = owned_order_or_404(out_trade_no)
    return jsonify(public_order(order, after_payment_url))


def _json_body() -> dict:
    if not request.is_json:
        raise ApiError(415, "json_required", "请求体须为 JSON（Content-Type: application/json）")
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        raise ApiError(400, "bad_json", "JSON 格式不正确")
    return payload
