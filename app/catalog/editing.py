"""The creator's side of the catalog: creating and editing products, sections and files.

Plain Python over the models: the studio's views parse a request into these calls, tests call
them directly. The caller wraps the calls in app.transactions.writing(), which takes the write
lock before and commits after (or rolls back when they refuse); everything here adds, changes
and flushes. Rendering stays in app.catalog.queries (render_product), so a product saved here
reads exactly as the storefront shows it.
"""

import mimetypes
import re
import secrets
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import sqlalchemy as sa

from app import pictures
from app.catalog import cover_uploads, queries
from app.catalog.richtext import render_markdown, split_at_marker, strip_marker
from app.extensions import db
from app.models import (
    Entitlement,
    Order,
    PageViewsDaily,
    Product,
    ProductFile,
    ProductKind,
    ProductStatus,
    Section,
    Tag,
)
from app.money import InvalidAmount, parse_yuan, yuan_for_input

MAX_FILE_BYTES = 50 * 1024 * 1024
_COPY_CHUNK = 1024 * 1024

SLUG_MAX_LENGTH = 80
# Lower-case letters, digits and inner hyphens: safe in a URL as it is, readable when shared.
_SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")
TITLE_MAX_LENGTH = 120
SUMMARY_MAX_LENGTH = 300
TAG_NAME_MAX_LENGTH = 30
MAX_TAGS = 8
SECTION_TITLE_MAX_LENGTH = 120
FILENAME_MAX_LENGTH = 200
# Chinese keyboards type the full-width comma or the enumeration comma between words.
_TAG_SEPARATORS = re.compile(r"[,，、;；]")
_SAFE_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,10}")


class Rejected(ValueError):
    """Input the creator must correct: a message per form field."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


@dataclass
class ProductFields:
    """A product's editable fields as typed into the studio's form (price in yuan)."""

    title: str = ""
    slug: str = ""
    summary: str = ""
    price_yuan: str = ""
    tags: str = ""
    featured: bool = False
    body_md: str = ""
    pay_what_you_want: bool = False  # 随心付: price_yuan is then the suggested amount
    min_price_yuan: str = ""
    buyers_share_a_read: bool = False  # 请朋友读: each buyer may pass one free read on
    member_price_yuan: str = ""  # what members pay (empty: members read it free)
    membership_days: str = ""  # 会员 plans: how long a purchase lasts
    member_item_ids: tuple[int, ...] = ()  # 会员 plans: what they open (none: everything)
    download_limit: str = ""  # downloads per buyer and file (empty: no limit)
    no_seek_ahead: bool = False  # audio and video: no skipping ahead until finished once

    @classmethod
    def of(cls, product: Product) -> "ProductFields":
        return cls(
            title=product.title,
            slug=product.slug,
            summary=product.summary,
            price_yuan=yuan_for_input(product.price_fen),
            tags=", ".join(tag.name for tag in product.tags),
            featured=product.featured,
            body_md=product.body_md,
            pay_what_you_want=product.pay_what_you_want,
            min_price_yuan=yuan_for_input(product.min_price_fen),
            buyers_share_a_read=product.buyers_share_a_read,
            member_price_yuan=yuan_for_input(product.member_price_fen)
            if product.member_price_fen is not None
            else "",
            membership_days=str(product.membership_days or ""),
            member_item_ids=tuple(item.id for item in product.member_items),
            download_limit=str(product.download_limit or ""),
            no_seek_ahead=product.no_seek_ahead,
        )


@dataclass
class SectionFields:
    title: str = ""
    body_md: str = ""
    is_free: bool = False

    @classmethod
    def of(cls, section: Section) -> "SectionFields":
        return cls(title=section.title, body_md=section.body_md, is_free=section.is_free)


@dataclass
class ProductRow:
    """One line of the studio's product list."""

    product: Product
    section_count: int
    file_count: int


@dataclass
class Preview:
    """What a reader who has not bought sees (free_html), and what only buyers see."""

    free_html: str
    paid_html: str
    has_marker: bool = False
    note: str = ""


# --- listing -----------------------------------------------------------------------------


def product_rows(status: ProductStatus | None = None) -> list[ProductRow]:
    """Every product, drafts too, most recently changed first, with its counts."""
    sections = (
        sa.select(sa.func.count(Section.id)).where(Section.product_id == Product.id)
    ).scalar_subquery()
    files = (
        sa.select(sa.func.count(ProductFile.id)).where(ProductFile.product_id == Product.id)
    ).scalar_subquery()
    query = sa.select(Product, sections, files).order_by(
        Product.updated_at.desc(), Product.id.desc()
    )
    if status is not None:
        query = query.where(Product.status == status)
    return [ProductRow(*row) for row in db.session.execute(query)]


def product_by_id(product_id: int) -> Product | None:
    return db.session.get(Product, product_id)


# --- products ----------------------------------------------------------------------------


def create_product(
    kind: ProductKind, fields: ProductFields, upload_folder: Path, cover: bytes | None = None
) -> Product:
    """A new draft. Without an uploaded cover one is drawn from the title."""
    product = Product(kind=kind, status=ProductStatus.DRAFT)
    _apply(product, fields, upload_folder / "covers", cover)
    db.session.add(product)
    db.session.flush()
    return product


def update_product(
    product: Product, fields: ProductFields, upload_folder: Path, cover: bytes | None = None
) -> str | None:
    """Apply the edit; the file name of a cover it replaced, for the caller to remove once the
    change is committed (`cover_uploads.remove_cover`), or None."""
    previous = product.cover_image
    _apply(product, fields, upload_folder / "covers", cover)
    db.session.flush()
    return previous if previous not in (None, product.cover_image) else None


def _apply(product: Product, fields: ProductFields, cover_folder: Path, cover: bytes | None):
    """Check every field first and report all mistakes at once; change nothing if any."""
    errors: dict[str, str] = {}
    values: dict = {}
    checks = {
        "title": lambda: _title(fields.title, TITLE_MAX_LENGTH),
        "slug": lambda: _slug_for(product, fields.slug),
        "summary": lambda: _summary(fields.summary),
        "price_fen": lambda: parse_price(fields.price_yuan),
        "min_price_fen": lambda: _min_price(fields),
        "membership": lambda: _membership(product, fields),
        "member_price_fen": lambda: _member_price(fields),
        "download_limit": lambda: _download_limit(fields.download_limit),
        "tag_names": lambda: parse_tag_names(fields.tags),
    }
    for name, check in checks.items():
        try:
            values[name] = check()
        except Rejected as rejected:
            errors.update(rejected.errors)
    picture = None
    if cover is not None:
        try:
            picture = cover_uploads.open_cover(cover)
        except pictures.PictureRejected as rejected:
            errors["cover"] = rejected.message
    if errors:
        raise Rejected(errors)

    product.title = values["title"]
    product.slug = values["slug"]
    product.summary = values["summary"]
    product.price_fen = values["price_fen"]
    product.pay_what_you_want = fields.pay_what_you_want
    product.min_price_fen = values["min_price_fen"]
    product.buyers_share_a_read = fields.buyers_share_a_read
    product.membership_days, product.member_items = values["membership"]
    product.member_price_fen = values["member_price_fen"]
    product.download_limit = values["download_limit"]
    product.no_seek_ahead = fields.no_seek_ahead
    product.tags = tags_named(values["tag_names"])
    product.featured = fields.featured
    product.body_md = _normalise_newlines(fields.body_md)
    if picture is not None:
        product.cover_image = cover_uploads.store_cover(cover_folder, product.slug, picture)
    elif product.cover_image is None:
        product.cover_image = cover_uploads.store_drawn_cover(
            cover_folder, product.slug, product.title, product.kind.label
        )
    queries.render_product(product)
    queries.mark_content_changed()


def publish(product: Product) -> None:
    queries.publish(product)
    queries.mark_content_changed()


def unpublish(product: Product) -> None:
    """Back to draft: off the shop's lists and pages, still readable by those who bought it.

    published_at is kept, so publishing again puts the product back where it stood.
    """
    product.status = ProductStatus.DRAFT
    queries.mark_content_changed()


def deletion_refused(product: Product) -> str | None:
    """Why this product may not be deleted, or None.

    Only a draft that nobody ever ordered or owns goes: orders are records of what happened, and
    a reader's access must never vanish. Anything else leaves the shop by 下架 instead.
    """
    if product.is_published:
        return "请先下架，再删除"
    ordered = sa.exists().where(Order.product_id == product.id)
    owned = sa.exists().where(Entitlement.product_id == product.id)
    if db.session.scalar(sa.select(ordered | owned)):
        return "有读者下过单或拥有它，不能删除；保持下架即可，已购读者仍可阅读"
    return None


def delete_product(product: Product, upload_folder: Path) -> list[Path]:
    """Delete a draft with its lessons, files, tags, reading progress and page views.

    Raises Rejected when `deletion_refused` says no. Returns the files on disk (downloads, the
    cover and its thumbnail) for the caller to remove once the deletion is committed.
    """
    refusal = deletion_refused(product)
    if refusal:
        raise Rejected({"delete": refusal})
    leftovers = [upload_folder / "files" / record.stored_name for record in product.files]
    if product.cover_image:
        leftovers += cover_uploads.cover_files(upload_folder / "covers", product.cover_image)
    db.session.execute(sa.delete(PageViewsDaily).where(PageViewsDaily.product_key == product.id))
    db.session.delete(product)  # sections and files by the ORM; progress and lists by the database
    db.session.flush()
    queries.mark_content_changed()
    return leftovers


# --- field rules -------------------------------------------------------------------------


def normalise_slug(text: str) -> str:
    """The slug as typed, checked: '' stays '' (one is generated), else [a-z0-9-]."""
    # NFKC keeps the length of what a slug may hold (full-width letters become ASCII ones),
    # so a longer text is refused before the work of normalising it.
    if len((text or "").strip()) > SLUG_MAX_LENGTH:
        raise Rejected({"slug": f"链接名最多 {SLUG_MAX_LENGTH} 个字符"})
    slug = unicodedata.normalize("NFKC", text or "").strip().lower()
    if not slug:
        return ""
    if len(slug) > SLUG_MAX_LENGTH:
        raise Rejected({"slug": f"链接名最多 {SLUG_MAX_LENGTH} 个字符"})
    if not _SLUG.fullmatch(slug):
        raise Rejected(
            {"slug": "链接名只能用小写字母、数字和连字符（-），且不能以连字符开头或结尾"}
        )
    return slug


def new_slug() -> str:
    """A short random id no product uses yet: 'p-' and eight hex digits."""
    while True:
        slug = f"p-{secrets.token_hex(4)}"
        if not _slug_taken(slug):
            return slug


def _slug_for(product: Product, typed: str) -> str:
    slug = normalise_slug(typed)
    if not slug:
        return product.slug or new_slug()
    if _slug_taken(slug, other_than=product.id):
        raise Rejected({"slug": f"链接名 {slug} 已被另一件内容使用"})
    return slug


def _slug_taken(slug: str, other_than: int | None = None) -> bool:
    query = sa.select(Product.id).where(Product.slug == slug)
    if other_than is not None:
        query = query.where(Product.id != other_than)
    return db.session.scalar(query) is not None


def parse_price(text: str) -> int:
    """Yuan as typed -> fen; empty means free."""
    if not (text or "").strip():
        return 0
    try:
        return parse_yuan(text)
    except InvalidAmount as error:
        raise Rejected({"price_yuan": f"价格有误：{error}"}) from error


MEMBERSHIP_MAX_DAYS = 3660


def _membership(product: Product, fields: ProductFields) -> tuple[int | None, list[Product]]:
    """A 会员 plan's days (1 to ten years) and the items it opens; nothing for other kinds."""
    if product.kind is not ProductKind.MEMBERSHIP:
        return None, []
    if parse_price(fields.price_yuan) == 0:
        raise Rejected({"price_yuan": "会员须有大于 0 的价格"})
    typed = fields.membership_days.strip()
    if not typed.isascii() or not typed.isdigit() or not 1 <= int(typed) <= MEMBERSHIP_MAX_DAYS:
        raise Rejected({"membership_days": f"会员天数须为 1 到 {MEMBERSHIP_MAX_DAYS} 之间的整数"})
    items = list(
        db.session.scalars(
            sa.select(Product).where(
                Product.id.in_(fields.member_item_ids), Product.kind != ProductKind.MEMBERSHIP
            )
        )
    )
    if len(items) != len(set(fields.member_item_ids)):
        raise Rejected({"member_items": "选中的内容有的不存在"})
    return int(typed), items


MAX_DOWNLOAD_LIMIT = 1000


def _download_limit(text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_DOWNLOAD_LIMIT:
        raise Rejected(
            {"download_limit": f"下载次数应为 1 到 {MAX_DOWNLOAD_LIMIT} 的整数，不限请留空"}
        )
    return int(text)


def _member_price(fields: ProductFields) -> int | None:
    """What members pay, below the price; empty: they read it free."""
    if not fields.member_price_yuan.strip():
        return None
    try:
        member = parse_yuan(fields.member_price_yuan)
        price = parse_yuan(fields.price_yuan) if fields.price_yuan.strip() else 0
    except InvalidAmount as error:
        raise Rejected({"member_price_yuan": f"会员价有误：{error}"}) from error
    if not 0 < member < price:
        raise Rejected({"member_price_yuan": "会员价须大于 0 且低于价格；会员免费读请留空"})
    return member


def _min_price(fields: ProductFields) -> int:
    """随心付's least amount (0 when not 随心付): at most the suggested price, which must be
    more than 0 (a free item is simply free)."""
    if not fields.pay_what_you_want:
        return 0
    try:
        suggested = parse_yuan(fields.price_yuan)
        least = parse_yuan(fields.min_price_yuan) if fields.min_price_yuan.strip() else 0
    except InvalidAmount as error:
        raise Rejected({"min_price_yuan": f"最低金额有误：{error}"}) from error
    if suggested == 0:
        raise Rejected({"price_yuan": "随心付须有大于 0 的建议金额"})
    if least > suggested:
        raise Rejected({"min_price_yuan": "最低金额不能高于建议金额"})
    return least


def parse_tag_names(text: str) -> list[str]:
    """'写作, 效率，写作' -> ['写作', '效率']: split on any comma, trimmed, each once."""
    names: list[str] = []
    for raw in _TAG_SEPARATORS.split(text or ""):
        name = " ".join(raw.split())
        if name and name.casefold() not in (n.casefold() for n in names):
            names.append(name)
    if any(len(n) > TAG_NAME_MAX_LENGTH for n in names):
        raise Rejected({"tags": f"每个标签最多 {TAG_NAME_MAX_LENGTH} 个字"})
    if len(names) > MAX_TAGS:
        raise Rejected({"tags": f"最多 {MAX_TAGS} 个标签"})
    return names


def tags_named(names: Sequence[str]) -> list[Tag]:
    """The tags of these names, in this order; a name the shop has not used yet becomes a tag."""
    existing = db.session.scalars(sa.select(Tag).where(Tag.name.in_(names))).all()
    by_name = {tag.name: tag for tag in existing}
    tags = []
    for name in names:
        tag = by_name.get(name)
        if tag is None:
            tag = Tag(name=name, slug=_new_tag_slug(name))
            db.session.add(tag)
            db.session.flush()
            by_name[name] = tag
        tags.append(tag)
    return tags


def _new_tag_slug(name: str) -> str:
    """A readable slug for a Latin name ('Side Project' -> 'side-project'), else a short id."""
    plain = unicodedata.normalize("NFKC", name).lower()
    readable = "-".join(re.findall(r"[a-z0-9]+", plain))[:50].strip("-")
    # A name with letters we cannot spell in ASCII (Chinese) gets an id, not a lossy fragment.
    spelled_out = readable.replace("-", "") == re.sub(r"[\W_]+", "", plain)
    if readable and spelled_out and not _tag_slug_taken(readable):
        return readable
    while True:
        slug = f"t-{secrets.token_hex(3)}"
        if not _tag_slug_taken(slug):
            return slug


def _tag_slug_taken(slug: str) -> bool:
    return db.session.scalar(sa.select(Tag.id).where(Tag.slug == slug)) is not None


def _title(text: str, max_length: int) -> str:
    """One line: runs of spaces and newlines pasted in become single spaces."""
    title = " ".join((text or "").split())
    if not title:
        raise Rejected({"title": "请填写标题"})
    if len(title) > max_length:
        raise Rejected({"title": f"标题最多 {max_length} 个字"})
    return title


def _summary(text: str) -> str:
    summary = (text or "").strip()
    if len(summary) > SUMMARY_MAX_LENGTH:
        raise Rejected({"summary": f"简介最多 {SUMMARY_MAX_LENGTH} 个字"})
    return summary


def _normalise_newlines(text: str) -> str:
    """Browsers send textareas with CRLF; store the Markdown with plain newlines."""
    return (text or "").replace("\r\n", "\n").replace("\r", "\n")


# --- the live preview --------------------------------------------------------------------


def preview(markdown: str, kind: ProductKind | None, price_yuan: str | None = None) -> Preview:
    """Render as the storefront will, split where a stranger's reading stops.

    kind None is a section of a course or column: it is free or paid as a whole (its 试看
    flag), so the marker means nothing there. A free product (price 0) is open to everyone
    in full. Otherwise the rules are those of queries.render_product: before the marker is
    free; without one, an article is all paid and any other kind's introduction all free.
    A price not given, or not a price yet (the creator is still typing it), counts as paid.
    """
    markdown = _normalise_newlines(markdown)
    if kind is None:
        return Preview(free_html=render_markdown(markdown), paid_html="")
    parts = split_at_marker(markdown)
    if _is_free_price(price_yuan):
        note = "免费内容：所有读者都能看到全文，分隔线不起作用。" if parts else ""
        return Preview(render_markdown(strip_marker(markdown)), "", note=note)
    if parts is not None:
        before, after = parts
        return Preview(render_markdown(before), render_markdown(after), has_marker=True)
    if kind is ProductKind.ARTICLE:
        note = "没有试读分隔线：未购买的读者看不到正文。" if markdown.strip() else ""
        return Preview("", render_markdown(markdown), note=note)
    return Preview(render_markdown(markdown), "")


def _is_free_price(price_yuan: str | None) -> bool:
    if price_yuan is None:
        return False
    try:
        return parse_price(price_yuan) == 0
    except Rejected:
        return False


# --- sections ----------------------------------------------------------------------------


def _check_has_sections(product: Product) -> None:
    if product.kind not in (ProductKind.COURSE, ProductKind.COLUMN):
        raise Rejected({"kind": f"{product.kind.label}没有章节"})


def _section_values(fields: SectionFields) -> tuple[str, str]:
    return _title(fields.title, SECTION_TITLE_MAX_LENGTH), _normalise_newlines(fields.body_md)


def add_section(product: Product, fields: SectionFields) -> Section:
    """A new lesson or article at the end."""
    _check_has_sections(product)
    title, body_md = _section_values(fields)
    section = Section(
        position=len(product.sections) + 1, title=title, body_md=body_md, is_free=fields.is_free
    )
    product.sections.append(section)
    _sections_changed(product)
    return section


def update_section(section: Section, fields: SectionFields) -> None:
    section.title, section.body_md = _section_values(fields)
    section.is_free = fields.is_free
    _sections_changed(section.product)


def delete_section(section: Section) -> None:
    product = section.product
    remaining = [s for s in product.sections if s.id != section.id]
    product.sections.remove(section)  # delete-orphan: the row goes with the flush
    db.session.flush()
    _renumber(remaining)
    _sections_changed(product)


def move_section(section: Section, step: int) -> bool:
    """Swap a section with its neighbour (step -1: up, +1: down). False at either end."""
    product = section.product
    ordered = list(product.sections)
    index = ordered.index(section)
    target = index + step
    if step not in (-1, 1) or not 0 <= target < len(ordered):
        return False
    ordered[index], ordered[target] = ordered[target], ordered[index]
    _renumber(ordered)
    _sections_changed(product)
    return True


def _renumber(ordered: Sequence[Section]) -> None:
    """Positions 1..n in this order, one row at a time, never two rows on one position.

    (product_id, position) is unique and checked per statement, and the ORM flushes updates
    in primary-key order, not in ours: a swap done directly would collide. Moving every
    row to a negative position first leaves each positive one free for the second pass.
    """
    if all(s.position == i for i, s in enumerate(ordered, start=1)):
        return
    for i, section in enumerate(ordered, start=1):
        section.position = -i
    db.session.flush()
    for i, section in enumerate(ordered, start=1):
        section.position = i
    db.session.flush()


def _sections_changed(product: Product) -> None:
    db.session.flush()
    db.session.expire(product, ["sections"])  # reload in the new position order
    queries.render_product(product)
    queries.mark_content_changed()


# --- files of a download -----------------------------------------------------------------


def add_file(
    product: Product,
    upload_folder: Path,
    stream: BinaryIO,
    filename: str,
    content_type: str | None = None,
) -> ProductFile:
    """Copy an upload to UPLOAD_FOLDER/files under a random name, outside the web root.

    Readers get it only through the storefront's download route, which checks entitlement.
    """
    if product.kind is not ProductKind.DOWNLOAD:
        raise Rejected({"file": "只有资料类内容可以上传文件"})
    display_name = clean_filename(filename)
    if not display_name:
        raise Rejected({"file": "请选择要上传的文件"})
    folder = upload_folder / "files"
    folder.mkdir(parents=True, exist_ok=True)
    suffix = Path(display_name).suffix
    stored_name = secrets.token_hex(16) + (suffix if _SAFE_SUFFIX.fullmatch(suffix) else "")
    target = folder / stored_name
    size = _copy_limited(stream, target)
    if size == 0:
        target.unlink()
        raise Rejected({"file": "文件是空的"})
    record = ProductFile(
        filename=display_name,
        stored_name=stored_name,
        content_type=_content_type(display_name, content_type),
        size_bytes=size,
    )
    product.files.append(record)
    db.session.flush()
    queries.mark_content_changed()
    return record


def delete_file(record: ProductFile, upload_folder: Path) -> None:
    """Remove the row, then the stored file (after the flush: a row never points at nothing)."""
    path = upload_folder / "files" / record.stored_name
    product = record.product
    product.files.remove(record)
    db.session.flush()
    path.unlink(missing_ok=True)
    queries.mark_content_changed()


def clean_filename(filename: str) -> str:
    """The name readers will download it as: no folders, no control characters, not too long."""
    name = re.split(r"[\\/]", filename or "")[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    if len(name) > FILENAME_MAX_LENGTH:
        stem, suffix = Path(name).stem, Path(name).suffix[:20]
        name = stem[: FILENAME_MAX_LENGTH - len(suffix)] + suffix
    return name


def _copy_limited(stream: BinaryIO, target: Path) -> int:
    size = 0
    with target.open("wb") as out:
        while chunk := stream.read(_COPY_CHUNK):
            size += len(chunk)
            if size > MAX_FILE_BYTES:
                break
            out.write(chunk)
    if size > MAX_FILE_BYTES:
        target.unlink()
        raise Rejected({"file": f"文件不能超过 {MAX_FILE_BYTES // (1024 * 1024)} MB"})
    return size


def _content_type(filename: str, claimed: str | None) -> str:
    """Guessed from the name first (what the browser claims varies by system)."""
    content_type = mimetypes.guess_type(filename)[0] or (claimed or "").split(";")[0].strip()
    content_type = content_type or "application/octet-stream"
    if content_type.startswith("text/"):
        content_type += "; charset=utf-8"
    return content_type[:100]
