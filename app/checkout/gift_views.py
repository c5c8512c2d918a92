"""请朋友读: the gift link's page (claim it, or, for the giver, who claimed it) and a buyer's
free read of an article to pass on. Buying a gift is the confirm page with ?gift=1."""

from flask import abort, flash, redirect, render_template, request, url_for

from app.accounts.session import current_reader, ensure_reader, is_wechat_browser
from app.catalog import entitlements, queries
from app.checkout import bp
from app.checkout.common import snapshot_page_refusal
from app.extensions import limiter
from app.pricing import gifts
from app.transactions import writing
from app.web.public_address import public_url


def _gift_or_404(token: str):
    return gifts.find(token) or abort(404)


@bp.get("/gift/<token>")
def gift_page(token: str):
    """The giver sees the link to send and who claimed it; anyone else, the gift to claim."""
    gift = _gift_or_404(token)
    reader = current_reader()
    if reader is not None and reader.id == gift.giver_id:
        return render_template(
            "checkout/gift_sent.html",
            gift=gift,
            link=public_url("checkout.gift_page", token=gift.token),
        )
    return render_template(
        "checkout/gift_claim.html",
        gift=gift,
        owns=reader is not None
        and entitlements.owns(entitlements.Viewer(reader=reader), gift.product),
        needs_wechat_login=is_wechat_browser() and (reader is None or reader.openid is None),
        refusal=snapshot_page_refusal(),
    )


@bp.post("/gift/<token>")
@limiter.limit("20 per minute")
def claim_gift(token: str):
    refusal = snapshot_page_refusal()
    if refusal:
        flash(refusal, "error")
        return redirect(url_for(".gift_page", token=token))
    try:
        with writing():
            gift = _gift_or_404(token)
            gifts.claim(gift, ensure_reader())
            slug = gift.product.slug
    except gifts.GiftRefused as refused:
        flash(refused.message, "error")
        return redirect(url_for(".gift_page", token=token))
    flash("领取成功，已加入你的已购", "info")
    return redirect(url_for("storefront.read", slug=slug))


@bp.get("/p/<slug>/share-read")
def share_read_page(slug: str):
    """A buyer's offer to pass on their one free read of this article."""
    product = queries.find_product(slug)
    if product is None or not product.buyers_share_a_read:
        abort(404)
    return render_template("checkout/share_read.html", product=product)


@bp.post("/p/<slug>/share-read")
@limiter.limit("20 per minute")
def share_read(slug: str):
    try:
        with writing():
            product = queries.find_product(slug) or abort(404)
            reader = current_reader()
            if reader is None:
                raise gifts.GiftRefused("not_owned", "买过这篇内容后才能请朋友读")
            token = gifts.shared_read(reader, product).token
    except gifts.GiftRefused as refused:
        flash(refused.message, "error")
        return redirect(url_for(".share_read_page", slug=slug))
    return redirect(url_for(".gift_page", token=token))


def gift_query() -> dict:
    """?gift=1 kept on the confirm page's own links and forms while buying for a friend."""
    return {"gift": 1} if request.values.get("gift") == "1" else {}
