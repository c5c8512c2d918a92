"""What a visitor sees: home, tags, search, product pages, errors."""

from pathlib import Path

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import ProductKind, Reader
from tests import factories


def test_home_lists_featured_latest_and_tags(app, client):
    with app.app_context():
        writing = factories.tag("writing", "写作")
        factories.product(title="高效写作课", featured=True, tags=[writing])
        factories.product(title="产品思维十讲")
        factories.product(title="未发布的草稿", published=False)
        db.session.commit()

    page = client.get("/").get_data(as_text=True)
    assert "精选推荐" in page
    assert "高效写作课" in page and "产品思维十讲" in page
    assert "未发布的草稿" not in page
    assert "# 写作" in page
    assert "沙箱模式" in page  # the sandbox announces itself on every page


def test_tag_page_lists_only_tagged_products(app, client):
    with app.app_context():
        writing = factories.tag("writing", "写作")
        factories.product(title="写作入门", tags=[writing])
        factories.product(title="无关的内容")
        db.session.commit()

    page = client.get("/tags/writing").get_data(as_text=True)
    assert "写作入门" in page and "无关的内容" not in page
    assert client.get("/tags/nope").status_code == 404


def test_search_matches_chinese_in_title_and_summary(app, client):
    with app.app_context():
        factories.product(title="高效写作课", summary="从零开始")
        factories.product(title="产品课", summary="学会写作需求文档")
        factories.product(title="摄影入门", summary="光与影")
        factories.product(title="写作草稿", published=False)
        db.session.commit()

    page = client.get("/search", query_string={"q": "写作"}).get_data(as_text=True)
    assert "高效写作课" in page and "产品课" in page
    assert "摄影入门" not in page and "写作草稿" not in page
    assert "找到 2 个结果" in page

    both = client.get("/search", query_string={"q": "写作 文档"}).get_data(as_text=True)
    assert "产品课" in both and "高效写作课" not in both


def test_search_treats_like_wildcards_as_text(app, client):
    with app.app_context():
        factories.product(title="百分百的方法")
        db.session.commit()
    page = client.get("/search", query_string={"q": "%"}).get_data(as_text=True)
    assert "百分百的方法" not in page
    assert "没有找到" in page


@pytest.mark.parametrize("q", ["%00", "%00%1F%7F", "%20%00%20", "%C2%85"])
def test_search_for_control_characters_alone_is_an_empty_search(app, client, q):
    with app.app_context():
        factories.product(title="高效写作课")
        db.session.commit()
    response = client.get(f"/search?q={q}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "高效写作课" not in page and "\x00" not in page


def test_control_characters_in_a_search_separate_words(app, client):
    with app.app_context():
        factories.product(title="高效写作课", summary="写给文档")
        factories.product(title="另一门课")
        db.session.commit()
    page = client.get("/search", query_string={"q": "写作\x00文档"}).get_data(as_text=True)
    assert "高效写作课" in page and "另一门课" not in page
    assert 'value="写作 文档"' in page


def test_product_page_shows_price_preview_and_paywall(app, client):
    with app.app_context():
        item = factories.product(title="写作课", price_fen=1990)
        db.session.commit()
        slug = item.slug

    page = client.get(f"/p/{slug}").get_data(as_text=True)
    assert "¥19.90" in page
    assert factories.PREVIEW_TEXT in page
    assert factories.PAID_SECRET not in page
    assert "以下为付费内容" in page
    assert f"/p/{slug}/buy" in page
    assert '<meta property="og:title" content="写作课">' in page
    assert "<title>写作课 · " in page


def test_course_page_has_table_of_contents_with_trial_lessons(app, client):
    with app.app_context():
        item = factories.product(
            ProductKind.COURSE,
            body_md="课程介绍，人人可见",
            sections=[
                ("第一课 开始", "第一课正文", True),
                ("第二课 深入", "第二课付费正文", False),
            ],
        )
        db.session.commit()
        slug = item.slug

    page = client.get(f"/p/{slug}").get_data(as_text=True)
    assert "课程介绍，人人可见" in page
    assert "第一课 开始" in page and "第二课 深入" in page
    assert "试看" in page
    assert "第一课正文" not in page and "第二课付费正文" not in page
    assert "第一课正文" in client.get(f"/p/{slug}/s/1").get_data(as_text=True)


def test_draft_products_are_not_found(app, client):
    with app.app_context():
        item = factories.product(published=False)
        db.session.commit()
        slug = item.slug
    for path in (f"/p/{slug}", f"/p/{slug}/read", f"/p/{slug}/buy"):
        assert client.get(path).status_code == 404


def test_error_pages_are_in_the_shops_style(client):
    response = client.get("/p/no-such-thing")
    page = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "页面不存在" in page and "回到首页" in page
    assert client.post("/").status_code == 405


def test_buy_leads_to_an_order_page_until_checkout_arrives(app, client):
    with app.app_context():
        item = factories.product(price_fen=4900)
        db.session.commit()
        slug = item.slug
    page = client.get(f"/p/{slug}/buy").get_data(as_text=True)
    assert "确认订单" in page and "¥49" in page


def test_free_article_is_readable_by_anyone(app, client):
    with app.app_context():
        item = factories.product(price_fen=0, body_md="开头\n\n<!--more-->\n\n免费全文在这里")
        db.session.commit()
        slug = item.slug
    page = client.get(f"/p/{slug}").get_data(as_text=True)
    assert "免费" in page and "以下为付费内容" not in page
    assert "免费全文在这里" in client.get(f"/p/{slug}/read").get_data(as_text=True)


def test_cover_images_are_served_with_long_cache(app, client, tmp_path):
    covers = tmp_path / "uploads" / "covers"
    covers.mkdir(parents=True)
    (covers / "a-123.png").write_bytes(b"\x89PNG fake")
    with client.get("/media/covers/a-123.png") as response:
        assert response.status_code == 200
        assert "max-age=31536000" in response.headers["Cache-Control"]
    assert client.get("/media/covers/../secret_key").status_code == 404


@pytest.mark.parametrize(
    ("filename", "content_type"),
    [
        ("清单.md", "text/markdown; charset=utf-8"),
        ("notes.txt", "text/plain; charset=utf-8"),
        ("kit.zip", "application/zip"),
    ],
)
def test_a_download_says_its_type_and_charset_once(app, client, filename, content_type):
    with app.app_context():
        item = factories.product(title="资料包", price_fen=0)
        record = factories.attach_file(item, Path(app.config["UPLOAD_FOLDER"]), filename)
        record.content_type = content_type
        db.session.commit()
        url = f"/p/{item.slug}/files/{record.id}"
    with client.get(url) as response:
        assert response.status_code == 200
        assert response.headers["Content-Type"] == content_type
        assert "attachment" in response.headers["Content-Disposition"]


def test_browsing_without_a_cookie_creates_no_reader_and_no_cookie(app, client):
    with app.app_context():
        paid = factories.product()
        free = factories.product(price_fen=0)
        course = factories.product(
            ProductKind.COURSE, sections=[("试读", "一", True), ("第二课", "二", False)]
        )
        db.session.commit()
        pages = [
            "/",
            f"/p/{paid.slug}",
            f"/p/{free.slug}",
            f"/p/{free.slug}/read",
            f"/p/{course.slug}/read",
            f"/p/{course.slug}/s/1",
            "/me",
            "/orders",
            "/library",
        ]
    for path in pages:
        response = client.get(path)
        assert response.status_code in (200, 302), path
        assert "Set-Cookie" not in response.headers, path
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Reader.id))) == 0
