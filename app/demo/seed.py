"""Fill an empty shop with the demo creator's catalog, covers, files and test readers."""

import mimetypes
import secrets
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from app.catalog import covers, entitlements, queries
from app.catalog.richtext import render_markdown
from app.demo import content, history, media
from app.extensions import db
from app.models import (
    CouponKind,
    Creator,
    EntitlementSource,
    Order,
    OrderKind,
    OrderStatus,
    PayChannel,
    Product,
    ProductFile,
    ProductKind,
    ProductStatus,
    Reader,
    Section,
    Tag,
    Tip,
)
from app.models.base import utcnow
from app.payments import tips
from app.payments.orders import new_out_trade_no
from app.pricing import coupons, offers, points
from app.readers.creators import create_creator
from app.sandbox.models import SandboxUser
from app.sandbox.oauth import new_openid

DEMO_USERNAME = "demo"


def shop_is_empty() -> bool:
    return db.session.scalar(sa.select(sa.func.count(Product.id))) == 0


def seed_demo(upload_folder: Path, with_sandbox_users: bool, ffmpeg_binary: str = "") -> str | None:
    """Create the demo shop. Returns the demo creator's new password (None if one existed).
    Commits: the demo's audio and video go through the media queue, which commits as it goes."""
    _seed_profile()
    tags = _seed_tags()
    now = utcnow()
    products = {}
    published = [p for p in content.PRODUCTS if p["status"] == "published"]
    for spec in content.PRODUCTS:
        # Spread publication over the past weeks so "latest" has an order a reader believes.
        age = None
        if spec in published:
            age = timedelta(days=3 * (len(published) - published.index(spec)))
        products[spec["slug"]] = _seed_product(spec, tags, upload_folder, now, age)
    _seed_readers(products, with_sandbox_users)
    # Three months of made-up sales, so the dashboard and the readers page have a story.
    db.session.flush()
    for_sale = [
        (p.id, p.price_fen)
        for p in products.values()
        if p.is_published and p.price_fen and not p.is_membership  # a pass's sales are not made up
    ]
    history.generate(orders=900, readers=160, days=90, products=for_sale, end=now, tip_share=0)
    _seed_promotions(products, now)
    queries.mark_content_changed()
    password = _seed_creator()
    db.session.commit()
    media.seed(products, {"UPLOAD_FOLDER": upload_folder, "FFMPEG_BINARY": ffmpeg_binary})
    return password


def _seed_promotions(products: dict[str, Product], now) -> None:
    """A limited-time offer running for three days, a code for new readers, and points
    earned on purchases: so a newcomer sees the price rule at work on the confirm page."""
    spec = content.PROMOTIONS
    offer = spec["offer"]
    offers.create(
        products[offer["slug"]], offer["price_fen"], now, now + timedelta(days=offer["days"])
    )
    coupon = dict(spec["coupon"], kind=CouponKind(spec["coupon"]["kind"]))
    coupons.create(coupons.CouponDraft(**coupon))
    points.save_settings(**spec["points"])


def _seed_profile() -> None:
    profile = queries.editable_shop_profile()
    profile.name = content.SHOP["name"]
    profile.tagline = content.SHOP["tagline"]
    profile.creator_name = content.SHOP["creator_name"]
    profile.intro_md = content.SHOP["intro_md"]
    profile.intro_html = render_markdown(profile.intro_md)


def _seed_tags() -> dict[str, Tag]:
    tags = {slug: Tag(slug=slug, name=name) for slug, name in content.TAGS}
    db.session.add_all(tags.values())
    return tags


def _seed_product(spec, tags, upload_folder: Path, now, age) -> Product:
    kind = ProductKind(spec["kind"])
    product = Product(
        slug=spec["slug"],
        kind=kind,
        title=spec["title"],
        summary=spec["summary"],
        price_fen=spec["price_fen"],
        featured=spec["featured"],
        body_md=spec["body_md"],
        tags=[tags[t] for t in spec["tags"]],
        status=ProductStatus.DRAFT,
        membership_days=spec.get("membership_days"),
    )
    product.sections = [
        Section(position=i, title=s["title"], body_md=s["body_md"], is_free=s["is_free"])
        for i, s in enumerate(spec["sections"], start=1)
    ]
    cover = covers.draw_cover(spec["title"], kind.label, spec["cover_colors"])
    product.cover_image = covers.save_cover(upload_folder / "covers", spec["slug"], cover)
    for file_spec in spec["files"]:
        product.files.append(_store_file(upload_folder / "files", file_spec))
    queries.render_product(product)
    if spec["status"] == "published":
        product.published_at = now - age
        queries.publish(product)
    db.session.add(product)
    return product


def _store_file(folder: Path, spec) -> ProductFile:
    folder.mkdir(parents=True, exist_ok=True)
    data = spec["content"].encode("utf-8")
    suffix = Path(spec["filename"]).suffix
    stored_name = secrets.token_hex(16) + suffix
    (folder / stored_name).write_bytes(data)
    content_type = mimetypes.guess_type(spec["filename"])[0] or "application/octet-stream"
    if content_type.startswith("text/"):
        content_type += "; charset=utf-8"
    return ProductFile(
        filename=spec["filename"],
        stored_name=stored_name,
        content_type=content_type,
        size_bytes=len(data),
    )


def _seed_readers(products: dict[str, Product], with_sandbox_users: bool) -> None:
    db.session.flush()
    for spec in content.READERS:
        openid = new_openid()
        reader = Reader(openid=openid, nickname=spec["nickname"])
        db.session.add(reader)
        db.session.flush()
        for slug in spec["owns"]:
            entitlements.grant(reader, products[slug], EntitlementSource.PURCHASE)
        for target, fen, message, anonymous, days_ago in spec["tips"]:
            _seed_tip(reader, products.get(target), fen, message, anonymous, days_ago)
        if with_sandbox_users:
            # The same person in the sandbox's WeChat, so you can sign in as them.
            db.session.add(SandboxUser(openid=openid, nickname=spec["nickname"]))


def _seed_tip(reader, product, fen, message, anonymous, days_ago) -> None:
    """A paid tip for the supporter walls. Marked DEMO: no sandbox payment stands behind
    it, so the daily bill lists it as the shop's own."""
    paid_at = utcnow() - timedelta(days=days_ago)
    order = Order(
        kind=OrderKind.TIP,
        out_trade_no=new_out_trade_no(paid_at),
        reader_id=reader.id,
        product_id=product.id if product else None,
        title=tips.tip_title(product),
        amount_fen=fen,
        channel=PayChannel.JSAPI,
        status=OrderStatus.PAID,
        client_ip="127.0.0.1",
        created_at=paid_at,
        expires_at=paid_at + timedelta(hours=2),
        paid_at=paid_at,
        transaction_id="DEMO" + secrets.token_hex(8),
        payer_openid=reader.openid,
    )
    tip = Tip(
        order=order,
        message=message,
        is_anonymous=anonymous,
        request_token=tips.new_request_token(),
    )
    db.session.add_all([order, tip])


def _seed_creator() -> str | None:
    if db.session.scalar(sa.select(Creator).where(Creator.username == DEMO_USERNAME)):
        return None
    password = secrets.token_urlsafe(9)
    create_creator(DEMO_USERNAME, password)
    return password
