"""The creator's catalog rules without a request: fields, covers, publishing, sections, files."""

import io
import struct
import zlib
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image

from app.catalog import cover_uploads, editing
from app.catalog.covers import COVER_SIZE
from app.catalog.editing import ProductFields, Rejected, SectionFields
from app.extensions import db
from app.models import ProductFile, ProductKind, ProductStatus, Section, ShopProfile, Tag
from tests import factories

pytestmark = pytest.mark.usefixtures("app_ctx")


@pytest.fixture
def uploads(app, app_ctx) -> Path:
    return Path(app.config["UPLOAD_FOLDER"])


def _image(fmt: str, size=(1600, 1200), mode="RGB", color="#c81e1e") -> bytes:
    """A plain picture; RGBA ones are half see-through."""
    buffer = io.BytesIO()
    image = Image.new(mode, size, color)
    if mode == "RGBA":
        image.putalpha(128)
    image.save(buffer, fmt)
    return buffer.getvalue()


def _fields(**overrides) -> ProductFields:
    return ProductFields(**{"title": "写作课", "price_yuan": "9.9", **overrides})


def _new(uploads, kind=ProductKind.ARTICLE, cover=None, **fields):
    return editing.create_product(kind, _fields(**fields), uploads, cover)


def _rejected(call, *args, **kwargs) -> dict[str, str]:
    with pytest.raises(Rejected) as rejected:
        call(*args, **kwargs)
    return rejected.value.errors


# --- slugs ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "slug"),
    [("my-course", "my-course"), ("  Writing-101 ", "writing-101"), ("ａｂｃ", "abc"), ("", "")],
)
def test_slugs_are_lower_case_letters_digits_and_hyphens(typed, slug):
    assert editing.normalise_slug(typed) == slug


@pytest.mark.parametrize("typed", ["写作", "a b", "a_b", "-lead", "trail-", "a/b", "x" * 81])
def test_other_slugs_are_refused(typed):
    assert "slug" in _rejected(editing.normalise_slug, typed)


def test_an_empty_slug_becomes_a_new_short_id(uploads):
    first, second = _new(uploads), _new(uploads)
    assert first.slug != second.slug
    for product in (first, second):
        assert product.slug.startswith("p-") and len(product.slug) == 10
        assert editing.normalise_slug(product.slug) == product.slug


def test_a_slug_in_use_is_refused_but_a_product_keeps_its_own(uploads):
    first = _new(uploads, slug="taken")
    assert _rejected(_new, uploads, slug="taken") == {"slug": "链接名 taken 已被另一件内容使用"}
    editing.update_product(first, _fields(slug="taken", title="新标题"), uploads)
    assert first.slug == "taken" and first.title == "新标题"


# --- price, title, tags -----------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "fen"), [("9.9", 990), ("0", 0), ("", 0), ("１９９", 19900)])
def test_prices_are_typed_in_yuan_and_stored_in_fen(typed, fen):
    assert editing.parse_price(typed) == fen


@pytest.mark.parametrize("typed", ["-1", "9.999", "abc", "1e3"])
def test_bad_prices_are_refused_with_the_reason(typed):
    assert _rejected(editing.parse_price, typed)["price_yuan"].startswith("价格有误")


def test_pay_what_you_want_keeps_a_suggestion_and_a_minimum_below_it(uploads):
    product = _new(uploads, price_yuan="30", pay_what_you_want=True, min_price_yuan="5")
    assert product.pay_what_you_want and (product.price_fen, product.min_price_fen) == (3000, 500)
    assert ProductFields.of(product).min_price_yuan == "5"
    free_floor = _new(uploads, price_yuan="30", pay_what_you_want=True, min_price_yuan="")
    assert free_floor.min_price_fen == 0
    errors = _rejected(_new, uploads, price_yuan="3", pay_what_you_want=True, min_price_yuan="5")
    assert errors["min_price_yuan"] == "最低金额不能高于建议金额"
    errors = _rejected(_new, uploads, price_yuan="0", pay_what_you_want=True)
    assert "建议金额" in errors["price_yuan"]
    fixed = _new(uploads, price_yuan="30", min_price_yuan="5")
    assert not fixed.pay_what_you_want and fixed.min_price_fen == 0


def test_every_mistake_is_reported_at_once_and_nothing_is_saved(uploads):
    errors = _rejected(
        _new, uploads, title="  ", slug="Bad Slug", price_yuan="-3", summary="长" * 301
    )
    assert set(errors) == {"title", "slug", "price_yuan", "summary"}
    assert db.session.scalar(sa.select(sa.func.count(Tag.id))) == 0


def test_tags_are_split_on_any_comma_and_created_once(uploads):
    factories.tag("writing", "写作")
    product = _new(uploads, tags="写作, 效率，Side  Project、写作")
    assert [t.name for t in product.tags] == ["写作", "效率", "Side Project"]
    assert product.tags[0].slug == "writing"
    assert product.tags[2].slug == "side-project"
    assert product.tags[1].slug.startswith("t-")  # Chinese names get a short id
    again = _new(uploads, tags="效率")
    assert again.tags == [product.tags[1]]
    assert db.session.scalar(sa.select(sa.func.count(Tag.id))) == 3


def test_too_long_or_too_many_tags_are_refused():
    assert "tags" in _rejected(editing.parse_tag_names, "长" * 31)
    assert "tags" in _rejected(editing.parse_tag_names, ",".join(str(i) for i in range(9)))


# --- saving, publishing -----------------------------------------------------------------------


def test_saving_renders_the_markdown_and_changes_the_content_version(uploads):
    profile = ShopProfile(id=1, name="店")
    db.session.add(profile)
    db.session.flush()
    version = profile.content_version
    product = _new(uploads, body_md="免费的开头\r\n\r\n<!--more-->\r\n\r\n**付费**的部分")
    assert product.status is ProductStatus.DRAFT and product.price_fen == 990
    assert product.body_md == "免费的开头\n\n<!--more-->\n\n**付费**的部分"
    assert product.preview_html == "<p>免费的开头</p>\n"
    assert "<strong>付费</strong>" in product.body_html and product.has_paid_part
    db.session.refresh(profile)
    assert profile.content_version == version + 1


def test_publish_and_unpublish(uploads):
    product = _new(uploads)
    editing.publish(product)
    assert product.is_published
    published_at = product.published_at
    assert published_at is not None
    editing.unpublish(product)
    assert product.status is ProductStatus.DRAFT
    editing.publish(product)
    assert product.is_published and product.published_at == published_at


def test_the_list_shows_drafts_too_with_counts(uploads):
    course = factories.product(
        ProductKind.COURSE, sections=[("一", "", True), ("二", "", False)], published=False
    )
    download = factories.product(ProductKind.DOWNLOAD)
    factories.attach_file(download, uploads)
    rows = {row.product.id: row for row in editing.product_rows()}
    assert (rows[course.id].section_count, rows[download.id].file_count) == (2, 1)
    drafts = editing.product_rows(ProductStatus.DRAFT)
    assert [row.product.id for row in drafts] == [course.id]


# --- covers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "mode"), [("JPEG", "RGB"), ("PNG", "RGBA"), ("WEBP", "RGB")])
def test_an_uploaded_cover_is_cropped_to_16_9_with_a_thumbnail(uploads, fmt, mode):
    product = _new(uploads, cover=_image(fmt, mode=mode))
    folder = uploads / "covers"
    assert product.cover_image.endswith(".jpg")
    with Image.open(folder / product.cover_image) as cover:
        assert cover.format == "JPEG" and cover.size == COVER_SIZE
    with Image.open(folder / cover_uploads.thumbnail_name(product.cover_image)) as thumbnail:
        assert thumbnail.size == cover_uploads.THUMBNAIL_SIZE


def test_the_cover_name_follows_the_content(uploads):
    def stored(data: bytes) -> str:
        return cover_uploads.store_cover(uploads, "same", cover_uploads.open_cover(data))

    first, again = stored(_image("PNG")), stored(_image("PNG"))
    assert first == again != stored(_image("PNG", color="navy"))


def test_a_bad_cover_is_reported_with_the_other_mistakes(uploads):
    errors = _rejected(_new, uploads, title="", cover=b"not a picture")
    assert set(errors) == {"title", "cover"}


def test_a_product_without_a_cover_gets_a_drawn_one(uploads):
    product = _new(uploads)
    assert (uploads / "covers" / product.cover_image).is_file()
    assert (uploads / "covers" / cover_uploads.thumbnail_name(product.cover_image)).is_file()
    kept = product.cover_image
    editing.update_product(product, _fields(title="改了标题"), uploads)
    assert product.cover_image == kept


@pytest.mark.parametrize(
    "data",
    [
        b"this is text pretending to be a PNG",
        b"\x89PNG\r\n\x1a\n" + b"not really the rest of a PNG",
        _image("GIF"),
        _image("PNG")[:200],  # truncated
        b"",
    ],
    ids=["text", "png-signature-only", "gif", "truncated", "empty"],
)
def test_anything_but_a_real_jpeg_png_or_webp_is_refused(uploads, data):
    errors = _rejected(_new, uploads, cover=data)
    assert errors["cover"] in ("封面只支持 JPEG、PNG 或 WebP 图片", "封面图片是空文件")
    assert not list((uploads / "covers").glob("*"))


def test_an_oversized_cover_is_refused_before_it_is_opened(uploads):
    data = _image("PNG") + b"\0" * cover_uploads.MAX_COVER_BYTES
    assert _rejected(_new, uploads, cover=data) == {"cover": "封面图片不能超过 5 MB"}


def _png_claiming_size(width: int, height: int) -> bytes:
    """A small real PNG whose header claims another size (what Pillow reads at open)."""
    data = _image("PNG", size=(1, 1), mode="L")
    ihdr = data.index(b"IHDR")
    fields = struct.pack(">II", width, height) + data[ihdr + 12 : ihdr + 17]
    chunk = b"IHDR" + fields
    return data[:ihdr] + chunk + struct.pack(">I", zlib.crc32(chunk)) + data[ihdr + 21 :]


TOO_LARGE = "封面图片太大了：最多 4000 万像素，请换一张小一些的图"


@pytest.mark.parametrize(
    "size",
    [(8000, 6000), (10_000, 10_000), (30_000, 30_000)],
    ids=["over-the-shop-limit", "pillow-bomb-warning", "pillow-bomb-error"],
)
def test_a_picture_with_too_many_pixels_is_refused_as_too_large(uploads, size):
    assert _rejected(_new, uploads, cover=_png_claiming_size(*size)) == {"cover": TOO_LARGE}
    assert not list((uploads / "covers").glob("*"))


def test_a_real_picture_with_too_many_pixels_is_refused(uploads):
    data = _image("PNG", size=(8000, 6000), mode="L")
    assert _rejected(_new, uploads, cover=data) == {"cover": TOO_LARGE}


# --- the preview ------------------------------------------------------------------------------


def test_the_preview_splits_where_a_strangers_reading_stops():
    shown = editing.preview("开头\n\n<!-- more -->\n\n付费", ProductKind.ARTICLE)
    assert (shown.free_html, shown.paid_html, shown.has_marker) == (
        "<p>开头</p>\n",
        "<p>付费</p>\n",
        True,
    )
    article = editing.preview("全文", ProductKind.ARTICLE)
    assert article.free_html == "" and article.paid_html == "<p>全文</p>\n" and article.note
    course = editing.preview("介绍", ProductKind.COURSE)
    assert course.free_html == "<p>介绍</p>\n" and course.paid_html == "" and not course.note
    section = editing.preview("一课\n\n<!--more-->", None)
    assert section.paid_html == "" and "一课" in section.free_html


def test_a_free_product_previews_everything_for_everyone():
    marked = editing.preview("开头\n\n<!--more-->\n\n其余", ProductKind.ARTICLE, "0")
    assert marked.free_html == "<p>开头</p>\n<p>其余</p>\n" and marked.paid_html == ""
    assert "免费内容" in marked.note and not marked.has_marker
    assert editing.preview("全文", ProductKind.ARTICLE, "").free_html == "<p>全文</p>\n"
    # A price still being typed counts as paid, as does none at all.
    for price in ("9.", "abc", None):
        assert editing.preview("全文", ProductKind.ARTICLE, price).free_html == ""


def test_the_preview_is_sanitised():
    shown = editing.preview(
        '<script>alert(1)</script>\n\n[x](javascript:alert(1)) <img src=x onerror="alert(1)">',
        ProductKind.COURSE,
    )
    assert "<script" not in shown.free_html and "<img" not in shown.free_html
    assert 'href="javascript' not in shown.free_html


# --- sections ---------------------------------------------------------------------------------


def _course(*titles: str):
    return factories.product(
        ProductKind.COURSE, sections=[(t, f"{t}的内容", False) for t in titles]
    )


def _order(product) -> list[tuple[int, str]]:
    db.session.flush()
    rows = db.session.execute(
        sa.select(Section.position, Section.title)
        .where(Section.product_id == product.id)
        .order_by(Section.position)
    )
    return [tuple(row) for row in rows]


def test_sections_are_added_at_the_end_and_rendered():
    course = _course("一", "二")
    section = editing.add_section(course, SectionFields("三", "**粗**", is_free=True))
    assert section.position == 3 and section.is_free
    assert section.body_html == "<p><strong>粗</strong></p>\n"
    assert _order(course) == [(1, "一"), (2, "二"), (3, "三")]


def test_moving_swaps_neighbours_and_stops_at_the_ends():
    course = _course("一", "二", "三")
    assert editing.move_section(course.sections[2], -1)
    assert _order(course) == [(1, "一"), (2, "三"), (3, "二")]
    assert editing.move_section(course.sections[0], 1)
    assert _order(course) == [(1, "三"), (2, "一"), (3, "二")]
    assert not editing.move_section(course.sections[0], -1)
    assert not editing.move_section(course.sections[2], 1)
    assert [s.title for s in course.sections] == ["三", "一", "二"]


def test_deleting_keeps_positions_contiguous():
    course = _course("一", "二", "三", "四")
    editing.move_section(course.sections[3], -1)  # 一 二 四 三
    editing.delete_section(course.sections[1])
    assert _order(course) == [(1, "一"), (2, "四"), (3, "三")]


def test_editing_a_section_rerenders_it():
    course = _course("一")
    editing.update_section(course.sections[0], SectionFields(" 新 标题 ", "*新*", True))
    section = course.sections[0]
    assert (section.title, section.is_free, section.body_html) == (
        "新 标题",
        True,
        "<p><em>新</em></p>\n",
    )
    assert "title" in _rejected(editing.update_section, section, SectionFields(""))


def test_only_courses_and_columns_have_sections():
    article = factories.product()
    assert "kind" in _rejected(editing.add_section, article, SectionFields("一"))


# --- files ------------------------------------------------------------------------------------


def test_a_file_is_stored_outside_the_web_root_under_a_random_name(uploads):
    download = factories.product(ProductKind.DOWNLOAD)
    record = editing.add_file(
        download,
        uploads,
        io.BytesIO(b"# list\n"),
        "C:\\fakepath\\清单.md",
        "application/x-whatever",
    )
    assert record.filename == "清单.md" and record.size_bytes == 7
    assert record.content_type == "text/markdown; charset=utf-8"
    assert record.stored_name.endswith(".md") and "清单" not in record.stored_name
    assert (uploads / "files" / record.stored_name).read_bytes() == b"# list\n"
    other = editing.add_file(download, uploads, io.BytesIO(b"x"), "a.weird_suffix!", None)
    assert other.content_type == "application/octet-stream" and "." not in other.stored_name


def test_files_too_large_empty_or_on_other_kinds_are_refused(uploads, monkeypatch):
    download = factories.product(ProductKind.DOWNLOAD)
    monkeypatch.setattr(editing, "MAX_FILE_BYTES", 10)
    too_big = _rejected(editing.add_file, download, uploads, io.BytesIO(b"x" * 11), "a.txt")
    assert "文件不能超过" in too_big["file"]
    assert "空" in _rejected(editing.add_file, download, uploads, io.BytesIO(b""), "a.txt")["file"]
    article = factories.product()
    assert "file" in _rejected(editing.add_file, article, uploads, io.BytesIO(b"x"), "a.txt")
    assert not list((uploads / "files").glob("*"))


def test_deleting_a_file_removes_the_row_and_the_stored_file(uploads):
    download = factories.product(ProductKind.DOWNLOAD)
    record = editing.add_file(download, uploads, io.BytesIO(b"data"), "a.pdf", None)
    path = uploads / "files" / record.stored_name
    editing.delete_file(record, uploads)
    assert not path.exists() and download.files == []
    assert db.session.scalar(sa.select(sa.func.count(ProductFile.id))) == 0
