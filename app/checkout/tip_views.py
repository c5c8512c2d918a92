"""赞赏: the tip form for an item or for the creator. Paying and the pages after it are the
order pages every purchase uses (views.py); only the form and the thank-you differ."""

from flask import abort, render_template, request, url_for

from app.accounts.session import current_viewer, ensure_reader
from app.catalog import entitlements, queries
from app.checkout import bp
from app.checkout.common import (
    channel_for_this_browser,
    client_ip,
    order_ttl,
    pay_page_redirect,
    shop_address,
    snapshot_page_refusal,
)
from app.extensions import db, limiter
from app.models import PayChannel, Product
from app.payments import orders, tips
from app.payments.checkout import CheckoutError, start_tip
from app.payments.gateway import current_gateway
from app.sharing.touch import current_attribution


def _item_or_404(slug: str) -> Product:
    product = queries.find_product(slug)
    if product is None or not product.is_published:
        abort(404)
    if not entitlements.can_view_product(current_viewer(), product):
        abort(404)
    return product


@bp.route("/p/<slug>/tip", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
def tip_item(slug: str):
    return _tip_page(_item_or_404(slug))


@bp.route("/about/tip", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
def tip_creator():
    return _tip_page(None)


def _tip_page(product: Product | None):
    if request.method == "POST":
        return _place(product)
    return _form(product, request_token=tips.new_request_token())


def _form(product, *, request_token, error=None, status=200):
    refusal = snapshot_page_refusal()
    channel = channel_for_this_browser()
    viewer = current_viewer()
    settings = tips.settings()
    form = request.form if request.method == "POST" else {}
    chosen = form.get("preset_fen", "")
    if not form and len(settings.presets_fen) > 1:
        chosen = str(settings.presets_fen[1])  # a sensible default: one tap pays
    page = render_template(
        "checkout/tip.html",
        product=product,
        settings=settings,
        channel=channel,
        needs_wechat_login=channel is PayChannel.JSAPI
        and (viewer.reader is None or viewer.reader.openid is None),
        request_token=request_token,
        chosen_preset=chosen,
        custom_yuan=form.get("custom_yuan", ""),
        message=form.get("message", ""),
        # A new form is signed with the reader's name; a sent one keeps what was typed.
        name=form.get("name", "") if form else (viewer.reader and viewer.reader.known_name) or "",
        # WeChat no longer gives names: a WeChat reader without one may set theirs on 我的.
        offer_profile=viewer.reader is not None
        and not viewer.reader.is_guest
        and not viewer.reader.known_name,
        anonymous=bool(form.get("anonymous")),
        error=error,
        refusal=refusal,
        message_max=tips.MESSAGE_MAX_CHARS,
        name_max=tips.NAME_MAX_CHARS,
    )
    return page, status


def _place(product):
    settings = tips.settings()
    token = request.form.get("request_token", "")
    if not 16 <= len(token) <= 43:
        token = tips.new_request_token()  # a form without one is still a fair request
    if snapshot_page_refusal():
        return _form(product, request_token=token, status=403)
    try:
        tip = tips.TipRequest(
            product=product,
            amount_fen=_amount_from_form(settings),
            message=tips.clean_message(request.form.get("message", "")),
            anonymous=bool(request.form.get("anonymous")),
            request_token=token,
            display_name=tips.clean_name(request.form.get("name", "")),
        )
        channel = channel_for_this_browser()
        if request.form.get("channel") == PayChannel.NATIVE.value:
            channel = PayChannel.NATIVE  # "pay with another phone": always possible
        reader = ensure_reader()
        db.session.commit()
        order = start_tip(
            current_gateway(),
            reader,
            tip,
            channel,
            client_ip(),
            shop_address(),
            order_ttl(),
            attribution=current_attribution(reader.id),
        )
    except (orders.OrderError, CheckoutError) as error:
        return _form(product, request_token=token, error=error.message, status=400)
    return pay_page_redirect(order)


def _amount_from_form(settings: tips.TipSettings) -> int:
    """The typed amount if there is one, else the chosen preset."""
    custom = request.form.get("custom_yuan", "").strip()
    if custom:
        return tips.parse_amount_yuan(custom, settings)
    preset = request.form.get("preset_fen", "")
    if not preset.isdigit():
        raise tips.TipRefused("请选择或输入赞赏金额", code="amount_missing")
    return tips.check_amount_fen(int(preset), settings)


def tip_target_url(product: Product | None) -> str:
    """Where a tip's thank-you page sends readers to share: the item, or the creator's page."""
    if product is None:
        return url_for("storefront.about", _external=True)
    return url_for("storefront.product", slug=product.slug, _external=True)
