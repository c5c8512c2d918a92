"""Sharing pages: the poster page and its PNG, and the JS-SDK share configuration."""

from pathlib import Path
from urllib.parse import urlencode, urlsplit

from flask import abort, current_app, jsonify, render_template, request

from app.accounts.session import current_session, current_snapshot, current_viewer
from app.catalog import entitlements, posters, queries
from app.models import OrderSource, Product
from app.money import format_fen
from app.pricing import offers
from app.readers import sharer_codes
from app.sharing import bp
from app.web.public_address import public_url
from app.wechat import jssdk, scenes
from app.wechat.poster_qr import qr_payload


def _shared_product_or_404(slug: str) -> Product:
    product = queries.find_product(slug)
    if product is None or not product.is_published:
        abort(404)  # a draft is the creator's, even to share
    if not entitlements.can_view_product(current_viewer(), product):
        abort(404)
    return product


def _my_code() -> str | None:
    live = current_session()
    if live is None or live.reader_id is None:
        return None  # a visitor the shop does not know yet shares without a code
    return sharer_codes.sharer_code(current_app.secret_key, live.reader_id)


def share_link(product: Product, source: OrderSource, code: str | None) -> str:
    tags = {"via": source.value, **({"by": code} if code else {})}
    return public_url("storefront.product", slug=product.slug) + "?" + urlencode(tags)


@bp.get("/p/<slug>/share")
def share(slug: str):
    product = _shared_product_or_404(slug)
    return render_template(
        "sharing/share.html",
        product=product,
        link=share_link(product, OrderSource.SHARE, _my_code()),
    )


@bp.get("/p/<slug>/poster.png")
def poster(slug: str):
    product = _shared_product_or_404(slug)
    code = _my_code()
    payload, follows = qr_payload(
        scenes.Scene(product.id, code), share_link(product, OrderSource.POSTER, code)
    )
    profile = current_snapshot().profile
    shop = queries.shop_profile()
    covers = Path(current_app.config["UPLOAD_FOLDER"]) / "covers"
    content = posters.PosterContent(
        title=product.title,
        summary=product.summary,
        kind_label=product.kind.label,
        price_label=_price_label(product),
        byline=" · ".join(filter(None, [shop.name, shop.creator_name])),
        recommender=profile.known_name if profile and not profile.is_guest else None,
        qr_payload=payload,
        qr_caption="长按识别二维码，关注公众号后阅读" if follows else "长按识别二维码，立即阅读",
        cover_path=covers / product.cover_image if product.cover_image else None,
    )
    response = current_app.response_class(posters.draw_poster(content), mimetype="image/png")
    response.headers["Content-Disposition"] = f'inline; filename="poster-{product.id}.png"'
    return response


def _price_label(product) -> str:
    """What the poster says the item costs today: a running offer's price says so."""
    if product.is_free:
        return "免费"
    if product.pay_what_you_want:
        return "随心付"
    offer = offers.active_offer(product.id)
    if offer is not None:
        return f"限时 {format_fen(offer.price_fen)}"
    return format_fen(product.price_fen)


@bp.get("/wechat/share-config")
def share_config():
    """wx.config's signed parameters for the page at `url`, and the reader's sharer code
    (app/static/js/share.js asks for them inside WeChat, so pages stay cacheable)."""
    url = request.args.get("url", "").split("#", 1)[0]
    if urlsplit(url).netloc != urlsplit(request.host_url).netloc:
        abort(400)  # WeChat signs for the shop's own pages only
    try:
        config = jssdk.signed_config(url)
    except jssdk.TicketUnavailable:
        current_app.logger.warning("no JS-SDK ticket for a share card", exc_info=True)
        return jsonify(error="暂时无法设置分享卡片"), 503
    return jsonify(config=config, sharer=_my_code())
