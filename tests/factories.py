"""Builders for rows the tests need; each returns a flushed object."""

import itertools

from app.catalog import entitlements, queries
from app.extensions import db
from app.models import (
    Coupon,
    CouponKind,
    EntitlementSource,
    PayChannel,
    Product,
    ProductFile,
    ProductKind,
    Reader,
    Section,
    Tag,
)
from app.pricing import coupons

__all__ = ["PayChannel", "Product", "Reader"]  # re-exported for tests that build rows here

_numbers = itertools.count(1)

PAID_SECRET = "只有买家才能看到的付费正文"
PREVIEW_TEXT = "人人都能看到的试读部分"


def product(
    kind: ProductKind = ProductKind.ARTICLE,
    *,
    title: str | None = None,
    summary: str = "一段简介",
    price_fen: int = 990,
    body_md: str | None = None,
    sections: list[tuple[str, str, bool]] | None = None,
    tags: list[Tag] | None = None,
    published: bool = True,
    featured: bool = False,
) -> Product:
    number = next(_numbers)
    if body_md is None:
        body_md = f"{PREVIEW_TEXT}\n\n<!--more-->\n\n{PAID_SECRET}-{number}"
    item = Product(
        slug=f"item-{number}",
        kind=kind,
        title=title or f"测试商品{number}",
        summary=summary,
        price_fen=price_fen,
        body_md=body_md,
        featured=featured,
        tags=tags or [],
    )
    item.sections = [
        Section(position=i, title=t, body_md=body, is_free=free)
        for i, (t, body, free) in enumerate(sections or [], start=1)
    ]
    queries.render_product(item)
    if published:
        queries.publish(item)
    db.session.add(item)
    db.session.flush()
    return item


def attach_file(item: Product, upload_folder, filename="清单.md", content="文件里的付费内容"):
    folder = upload_folder / "files"
    folder.mkdir(parents=True, exist_ok=True)
    stored = f"{item.slug}-{next(_numbers)}.md"
    (folder / stored).write_text(content, encoding="utf-8")
    record = ProductFile(
        product=item,
        filename=filename,
        stored_name=stored,
        content_type="text/markdown; charset=utf-8",
        size_bytes=len(content.encode()),
    )
    db.session.add(record)
    db.session.flush()
    return record


def reader(openid: str | None = None, nickname: str | None = None) -> Reader:
    item = Reader(openid=openid, nickname=nickname)
    db.session.add(item)
    db.session.flush()
    return item


def tag(slug: str, name: str) -> Tag:
    item = Tag(slug=slug, name=name)
    db.session.add(item)
    db.session.flush()
    return item


def give(owner: Reader, item: Product) -> None:
    entitlements.grant(owner, item, EntitlementSource.PURCHASE)
    db.session.flush()


def coupon(**fields) -> Coupon:
    """A coupon made as the studio makes one (¥10 off unless told), committed."""
    fields.setdefault("kind", CouponKind.AMOUNT)
    if fields["kind"] is CouponKind.AMOUNT:
        fields.setdefault("amount_off_fen", 1000)
    [made] = coupons.create(coupons.CouponDraft(**fields))
    db.session.commit()
    return made
