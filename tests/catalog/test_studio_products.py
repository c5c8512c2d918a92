"""The creator's content pages: list, create and edit every kind, preview, sections, files."""

import io
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image

from app.catalog import cover_uploads, editing
from app.extensions import db
from app.models import (
    PageViewsDaily,
    PayChannel,
    Product,
    ProductFile,
    ProductKind,
    ProductStatus,
    ReadingProgress,
    Section,
)
from app.payments import orders
from app.transactions import begin_write
from tests import factories
from tests.payflow import csrf_token_in

FREE_SENTENCE = "人人可读的开头"
PAID_SENTENCE = "只有买家才能读到的结尾"


def _token(studio, path="/studio/products/new/article") -> str:
    return csrf_token_in(studio.get(path).get_data(as_text=True))


def _post(studio, path, form_path=None, **form):
    return studio.post(path, data={"csrf_token": _token(studio, form_path or path), **form})


def _create(studio, kind="article", **form):
    fields = {"title": "新内容", "price_yuan": "9.9", "body_md": "", **form}
    return _post(studio, f"/studio/products/new/{kind}", **fields)


def _product(app, **where) -> Product:
    with app.app_context():
        product = db.session.scalar(sa.select(Product).filter_by(**where))
        product.sections, product.files, product.tags  # noqa: B018  (load before detaching)
        db.session.expunge(product)
        return product


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (1200, 900), "teal").save(buffer, "PNG")
    return buffer.getvalue()


def test_only_the_creator_manages_content(app, client):
    assert "/creator/login" in client.get("/studio/products").location
    assert "/creator/login" in client.get("/studio/products/new/article").location


def test_the_list_shows_drafts_and_published_with_a_filter(app, studio):
    with app.app_context():
        factories.product(title="已上架的课", price_fen=0)
        factories.product(
            ProductKind.COURSE, title="草稿课", published=False, sections=[("一", "", True)]
        )
        db.session.commit()
    page = studio.get("/studio/products").get_data(as_text=True)
    assert "已上架的课" in page and "草稿课" in page and "1 课时" in page and "免费" in page
    for kind in ("article", "course", "column", "download"):
        assert f'href="/studio/products/new/{kind}"' in page
    drafts = studio.get("/studio/products?status=draft").get_data(as_text=True)
    assert "草稿课" in drafts and "已上架的课" not in drafts
    published = studio.get("/studio/products?status=published").get_data(as_text=True)
    assert "已上架的课" in published and "草稿课" not in published


@pytest.mark.parametrize("kind", ["article", "course", "column", "download"])
def test_the_creator_creates_every_kind_as_a_draft(app, studio, kind):
    form = studio.get(f"/studio/products/new/{kind}").get_data(as_text=True)
    assert "data-md-editor" in form and "js/studio-editor.js" in form
    response = _create(studio, kind, title=f"新的{kind}", tags="写作, 效率", featured="1")
    assert response.status_code == 302
    product = _product(app, title=f"新的{kind}")
    assert response.location.endswith(f"/studio/products/{product.id}")
    assert product.kind is ProductKind(kind) and product.status is ProductStatus.DRAFT
    assert product.price_fen == 990 and product.featured
    assert [t.name for t in product.tags] == ["写作", "效率"]
    assert product.slug.startswith("p-")
    assert (Path(app.config["UPLOAD_FOLDER"]) / "covers" / product.cover_image).is_file()
    assert f"新的{kind}" in studio.get("/studio/products").get_data(as_text=True)
    # A draft is not in the shop.
    assert app.test_client().get(f"/p/{product.slug}").status_code == 404


def test_a_refused_form_keeps_what_was_typed(app, studio):
    response = _create(
        studio, title="保留我", slug="Not OK!", price_yuan="1.234", body_md="正文还在"
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "链接名只能用小写字母" in page and "金额最多两位小数" in page
    assert 'value="保留我"' in page and "正文还在" in page
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Product.id))) == 0


def test_editing_changes_fields_slug_and_rendering(app, studio):
    _create(studio, title="旧标题")
    product = _product(app, title="旧标题")
    edit = f"/studio/products/{product.id}"
    page = studio.get(edit).get_data(as_text=True)
    assert 'value="旧标题"' in page and 'value="9.90"' in page
    response = _post(
        studio, edit, title="新标题", slug="new-slug", price_yuan="0", body_md="# 标题\n\n正文"
    )
    assert response.status_code == 302
    product = _product(app, id=product.id)
    assert (product.title, product.slug, product.price_fen) == ("新标题", "new-slug", 0)
    assert "<h1>标题</h1>" in product.body_html


def test_a_slug_in_use_is_refused(app, studio):
    with app.app_context():
        factories.product()  # item-N
        taken = db.session.scalar(sa.select(Product.slug))
        db.session.commit()
    response = _create(studio, slug=taken)
    assert response.status_code == 400 and "已被另一件内容使用" in response.get_data(as_text=True)


def test_an_uploaded_cover_replaces_the_drawn_one(app, studio):
    _create(studio, title="有封面")
    product = _product(app, title="有封面")
    edit = f"/studio/products/{product.id}"
    form = {"title": "有封面", "price_yuan": "1", "cover": (io.BytesIO(_png()), "photo.png")}
    assert _post(studio, edit, **form).status_code == 302
    updated = _product(app, id=product.id)
    assert updated.cover_image != product.cover_image and updated.cover_image.endswith(".jpg")
    with studio.get(f"/media/covers/{updated.cover_image}") as response:
        assert response.status_code == 200 and response.mimetype == "image/jpeg"
    covers = Path(app.config["UPLOAD_FOLDER"]) / "covers"
    assert not (covers / product.cover_image).exists()  # the drawn one and its thumbnail: gone
    assert not (covers / cover_uploads.thumbnail_name(product.cover_image)).exists()
    assert (covers / cover_uploads.thumbnail_name(updated.cover_image)).is_file()

    # The same picture again is the same file: kept. Without a new picture, nothing changes.
    form = {"title": "有封面", "price_yuan": "1", "cover": (io.BytesIO(_png()), "again.png")}
    assert _post(studio, edit, **form).status_code == 302
    assert _post(studio, edit, title="有封面", price_yuan="2").status_code == 302
    assert _product(app, id=product.id).cover_image == updated.cover_image
    assert (covers / updated.cover_image).is_file()


def test_a_text_file_named_png_is_refused_as_a_cover(app, studio):
    form = {"cover": (io.BytesIO(b"I am not a picture"), "cover.png")}
    response = _create(studio, title="假图片", **form)
    assert response.status_code == 400
    assert "封面只支持 JPEG、PNG 或 WebP 图片" in response.get_data(as_text=True)


def test_publish_and_unpublish(app, studio):
    _create(studio, title="上架试试", slug="try-me")
    product = _product(app, slug="try-me")
    path = f"/studio/products/{product.id}/publish"
    edit = f"/studio/products/{product.id}"
    assert _post(studio, path, edit, published="1").status_code == 302
    assert app.test_client().get("/p/try-me").status_code == 200
    assert "下架" in studio.get(edit).get_data(as_text=True)
    _post(studio, path, edit, published="0")
    assert app.test_client().get("/p/try-me").status_code == 404
    assert _product(app, slug="try-me").published_at is not None


def test_the_paid_part_after_the_marker_stays_hidden_from_strangers(app, studio):
    body = f"{FREE_SENTENCE}\n\n<!--more-->\n\n{PAID_SENTENCE}"
    _create(studio, title="带分隔线", slug="with-marker", body_md=body)
    product = _product(app, slug="with-marker")
    _post(
        studio,
        f"/studio/products/{product.id}/publish",
        f"/studio/products/{product.id}",
        published="1",
    )
    page = app.test_client().get("/p/with-marker").get_data(as_text=True)
    assert FREE_SENTENCE in page and PAID_SENTENCE not in page and "以下为付费内容" in page
    assert app.test_client().get("/p/with-marker/read").status_code == 403
    assert PAID_SENTENCE in studio.get("/p/with-marker").get_data(as_text=True)


# --- the live preview -------------------------------------------------------------------------


def _preview(studio, token, **payload):
    headers = {"X-CSRFToken": token} if token else {}
    return studio.post("/studio/products/preview", json=payload, headers=headers)


def test_the_preview_renders_sanitised_html_split_at_the_marker(studio):
    markdown = (
        f"**{FREE_SENTENCE}** <script>alert(1)</script>\n\n<!--more-->\n\n[链接](javascript:x)"
    )
    response = _preview(studio, _token(studio), markdown=markdown, kind="article")
    assert response.status_code == 200
    result = response.get_json()
    assert result["free_html"].startswith(f"<p><strong>{FREE_SENTENCE}</strong>")
    assert "<script" not in result["free_html"] and 'href="javascript' not in result["paid_html"]
    assert result["has_marker"] is True
    free = _preview(studio, _token(studio), markdown=markdown, kind="article", price_yuan="0")
    assert free.get_json()["paid_html"] == "" and "链接" in free.get_json()["free_html"]
    section = _preview(studio, _token(studio), markdown="试看一课", kind="section").get_json()
    assert section == {
        "free_html": "<p>试看一课</p>\n",
        "paid_html": "",
        "has_marker": False,
        "note": "",
    }


def test_the_preview_refuses_without_the_csrf_token(studio):
    assert _preview(studio, None, markdown="x", kind="article").status_code == 400
    assert _preview(studio, "forged", markdown="x", kind="article").status_code == 400
    token = _token(studio)
    assert _preview(studio, token, markdown=3, kind="article").status_code == 400
    assert (
        studio.post("/studio/products/preview", json=[], headers={"X-CSRFToken": token}).status_code
        == 400
    )
    assert _preview(studio, token, markdown="x", kind="poem").status_code == 404


# --- sections ---------------------------------------------------------------------------------


def _course(app, studio) -> Product:
    _create(studio, "course", title="一门课", slug="a-course", body_md="课程介绍")
    return _product(app, slug="a-course")


def _add_section(studio, product, title, free=False):
    path = f"/studio/products/{product.id}/sections/new"
    form = {"title": title, "body_md": f"{title}的正文"}
    if free:
        form["is_free"] = "1"
    return _post(studio, path, **form)


def _titles(app, slug) -> list[tuple[int, str, bool]]:
    return [(s.position, s.title, s.is_free) for s in _product(app, slug=slug).sections]


def test_sections_are_added_edited_reordered_and_deleted(app, studio):
    course = _course(app, studio)
    edit = f"/studio/products/{course.id}"
    for title, free in (("第一课", True), ("第二课", False), ("第三课", False)):
        assert _add_section(studio, course, title, free).status_code == 302
    assert _titles(app, "a-course") == [
        (1, "第一课", True),
        (2, "第二课", False),
        (3, "第三课", False),
    ]
    ids = [s.id for s in _product(app, slug="a-course").sections]

    section_path = f"/studio/products/{course.id}/sections/{ids[1]}"
    assert "第二课的正文" in studio.get(section_path).get_data(as_text=True)
    _post(studio, section_path, title="第二课（改）", body_md="**新**", is_free="1")
    _post(studio, f"/studio/products/{course.id}/sections/{ids[2]}/move", edit, direction="up")
    assert [t for _, t, _ in _titles(app, "a-course")] == ["第一课", "第三课", "第二课（改）"]
    _post(studio, f"/studio/products/{course.id}/sections/{ids[0]}/move", edit, direction="up")
    _post(studio, f"/studio/products/{course.id}/sections/{ids[0]}/delete", edit)
    assert _titles(app, "a-course") == [(1, "第三课", False), (2, "第二课（改）", True)]
    assert "<strong>新</strong>" in _product(app, slug="a-course").sections[1].body_html

    page = studio.get(edit).get_data(as_text=True)
    assert page.count("data-section-row") == 2 and "试看" in page


def test_a_section_needs_a_title_and_an_article_has_none(app, studio):
    course = _course(app, studio)
    response = _add_section(studio, course, "  ")
    assert response.status_code == 400 and "请填写标题" in response.get_data(as_text=True)
    _create(studio, title="文章", slug="an-article")
    article = _product(app, slug="an-article")
    assert studio.get(f"/studio/products/{article.id}/sections/new").status_code == 404


# --- files ------------------------------------------------------------------------------------


def test_files_are_uploaded_served_to_buyers_only_and_deleted(app, studio):
    _create(studio, "download", title="资料包", slug="kit", price_yuan="5")
    kit = _product(app, slug="kit")
    edit = f"/studio/products/{kit.id}"
    upload = {"file": (io.BytesIO(b"col1,col2\n"), "模板.csv")}
    response = _post(studio, f"{edit}/files", edit, **upload)
    assert response.status_code == 302 and response.location.endswith("#files")
    record = _product(app, slug="kit").files[0]
    stored = Path(app.config["UPLOAD_FOLDER"]) / "files" / record.stored_name
    assert stored.read_bytes() == b"col1,col2\n" and record.filename == "模板.csv"
    assert "模板.csv" in studio.get(edit).get_data(as_text=True)

    _post(studio, f"{edit}/publish", edit, published="1")
    download = f"/p/kit/files/{record.id}"
    assert app.test_client().get(download).status_code == 403
    with studio.get(download) as response:
        assert response.get_data() == b"col1,col2\n"
        assert response.headers["Content-Type"] == "text/csv; charset=utf-8"

    _post(studio, f"{edit}/files/{record.id}/delete", edit)
    assert not stored.exists() and _product(app, slug="kit").files == []


def test_an_upload_without_a_file_is_refused_with_a_message(app, studio):
    _create(studio, "download", title="资料包", slug="kit")
    kit = _product(app, slug="kit")
    edit = f"/studio/products/{kit.id}"
    response = _post(studio, f"{edit}/files", edit)
    assert response.status_code == 302
    assert "请选择要上传的文件" in studio.get(edit).get_data(as_text=True)


def test_the_editor_page_carries_the_preview_endpoint_and_token(app, studio):
    page = studio.get("/studio/products/new/column").get_data(as_text=True)
    assert 'data-preview-url="/studio/products/preview"' in page
    assert re.search(r'data-csrf-token="[^"]+"', page)
    assert "data-insert-marker" in page


# --- deleting ----------------------------------------------------------------------------------


def _delete(studio, product_id: int):
    edit = f"/studio/products/{product_id}"
    return _post(studio, f"{edit}/delete", form_path=edit)


def test_a_draft_nobody_ordered_is_deleted_with_its_files(app, studio):
    with app.app_context():
        draft = factories.product(
            ProductKind.DOWNLOAD, title="没人买的草稿", published=False, sections=[("一", "", True)]
        )
        stored = factories.attach_file(draft, Path(app.config["UPLOAD_FOLDER"])).stored_name
        reader = factories.reader()
        db.session.add(ReadingProgress(reader_id=reader.id, product_id=draft.id))
        db.session.add(PageViewsDaily(day=date(2026, 11, 1), product_key=draft.id, views=3))
        draft_id, file_path = draft.id, Path(app.config["UPLOAD_FOLDER"]) / "files" / stored
        db.session.commit()
    edit = f"/studio/products/{draft_id}"
    cover = {"cover": (io.BytesIO(_png()), "photo.png")}
    assert _post(studio, edit, title="没人买的草稿", price_yuan="1", **cover).status_code == 302
    covers = Path(app.config["UPLOAD_FOLDER"]) / "covers"
    cover = _product(app, id=draft_id).cover_image
    assert file_path.is_file() and (covers / cover).is_file()
    assert "删除「没人买的草稿」？它的章节、文件和封面会一起删除" in studio.get(edit).get_data(
        as_text=True
    )

    response = _delete(studio, draft_id)
    assert response.status_code == 302 and response.location.endswith("/studio/products")
    assert "已删除：没人买的草稿" in studio.get("/studio/products").get_data(as_text=True)
    with app.app_context():
        for model in (Product, Section, ProductFile, ReadingProgress, PageViewsDaily):
            assert db.session.scalar(sa.select(sa.func.count()).select_from(model)) == 0
    assert not file_path.exists()
    assert not (covers / cover).exists()
    assert not (covers / cover_uploads.thumbnail_name(cover)).exists()
    assert studio.get(edit).status_code == 404


@pytest.mark.parametrize("history", ["published", "ordered", "owned"])
def test_what_was_published_ordered_or_owned_is_never_deleted(app, studio, history):
    with app.app_context():
        item = factories.product(title="有过历史的")
        if history == "ordered":
            begin_write()
            orders.place_order(
                factories.reader(), item, PayChannel.NATIVE, "127.0.0.1", timedelta(hours=2)
            )
        if history != "published":
            editing.unpublish(item)
        if history == "owned":
            factories.give(factories.reader(), item)
        item_id = item.id
        db.session.commit()
    edit = f"/studio/products/{item_id}"
    assert "它的章节、文件和封面会一起删除" not in studio.get(edit).get_data(as_text=True)
    response = _delete(studio, item_id)
    assert response.status_code == 302 and response.location.endswith(edit)
    page = studio.get(edit).get_data(as_text=True)
    assert ("请先下架" if history == "published" else "不能删除") in page
    assert _product(app, id=item_id).title == "有过历史的"


def test_only_the_creator_deletes(app, client):
    with app.app_context():
        item_id = factories.product(published=False).id
        db.session.commit()
    login_page = client.get("/creator/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page).group(1)
    response = client.post(f"/studio/products/{item_id}/delete", data={"csrf_token": token})
    assert "/creator/login" in response.location
    assert _product(app, id=item_id) is not None
