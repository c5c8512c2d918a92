"""Paid material reaches only those entitled to it: every route, every kind of visitor.

"Reaches" means the bytes: not in the page source, not at a guessable URL.
"""

import pytest

from app.extensions import db
from app.models import ProductKind
from tests import factories
from tests.conftest import sign_in_as

LESSON_SECRET = "第二课的付费正文"
FILE_SECRET = "资料文件里的付费内容"
INTRO_SECRET = "只给学员看的课程说明"


@pytest.fixture
def shop(app, tmp_path):
    """A paid article, course and download, another item, and four kinds of visitor."""
    with app.app_context():
        article = factories.product(ProductKind.ARTICLE, price_fen=990)
        course = factories.product(
            ProductKind.COURSE,
            price_fen=9900,
            body_md=f"课程介绍\n\n<!--more-->\n\n{INTRO_SECRET}",
            sections=[("试看课", "试看正文", True), ("付费课", LESSON_SECRET, False)],
        )
        download = factories.product(ProductKind.DOWNLOAD, price_fen=1990, body_md="资料介绍")
        attachment = factories.attach_file(download, tmp_path / "uploads", content=FILE_SECRET)
        other = factories.product(price_fen=500)

        owner = factories.reader(openid="o-owner", nickname="买家")
        guest_owner = factories.reader()
        other_buyer = factories.reader(openid="o-other", nickname="别人")
        guest = factories.reader()
        for item in (article, course, download):
            factories.give(owner, item)
            factories.give(guest_owner, item)
        factories.give(other_buyer, other)
        db.session.commit()
        return {
            "paths": {
                "article page": (f"/p/{article.slug}", factories.PAID_SECRET),
                "article reader": (f"/p/{article.slug}/read", factories.PAID_SECRET),
                "course page": (f"/p/{course.slug}", INTRO_SECRET),
                "paid lesson": (f"/p/{course.slug}/s/2", LESSON_SECRET),
                "file": (f"/p/{download.slug}/files/{attachment.id}", FILE_SECRET),
            },
            "readers": {
                "owner": owner.id,
                "guest owner": guest_owner.id,
                "other buyer": other_buyer.id,
                "guest": guest.id,
            },
        }


def _visit(app, reader_id, path):
    client = app.test_client()
    if reader_id is not None:
        sign_in_as(app, client, reader_id)
    with client.get(path) as response:
        return response.status_code, response.get_data(as_text=True)


ROUTES = ["article page", "article reader", "course page", "paid lesson", "file"]


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("visitor", ["stranger", "guest", "other buyer"])
def test_paid_material_never_reaches_those_not_entitled(app, shop, route, visitor):
    path, secret = shop["paths"][route]
    reader_id = shop["readers"].get(visitor)
    status, body = _visit(app, reader_id, path)
    assert secret not in body
    assert status in (200, 403)
    if route in ("article reader", "paid lesson", "file"):
        assert status == 403
        assert "购买后即可阅读" in body


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("visitor", ["owner", "guest owner"])
def test_owners_get_everything(app, shop, route, visitor):
    path, secret = shop["paths"][route]
    status, body = _visit(app, shop["readers"][visitor], path)
    assert status == 200
    assert secret in body


def test_free_lesson_is_open_to_strangers(app, shop):
    course_path = shop["paths"]["paid lesson"][0].replace("/s/2", "/s/1")
    status, body = _visit(app, None, course_path)
    assert status == 200 and "试看正文" in body


def test_a_file_of_another_product_is_not_found(app, shop):
    file_path = shop["paths"]["file"][0]
    file_id = file_path.rsplit("/", 1)[1]
    article_slug = shop["paths"]["article page"][0].split("/")[2]
    status, _ = _visit(app, shop["readers"]["owner"], f"/p/{article_slug}/files/{file_id}")
    assert status == 404


def test_owners_keep_access_after_the_product_is_unpublished(app, shop):
    from app.models import Product, ProductStatus

    path, secret = shop["paths"]["article reader"]
    with app.app_context():
        article = db.session.scalar(db.select(Product).where(Product.slug == path.split("/")[2]))
        article.status = ProductStatus.DRAFT
        db.session.commit()
    assert _visit(app, None, path)[0] == 404
    status, body = _visit(app, shop["readers"]["owner"], path)
    assert status == 200 and secret in body


def test_the_creator_reads_everything(app, shop):
    from app.readers.creators import create_creator

    with app.app_context():
        create_creator("creator", "a-long-password")
        db.session.commit()
    client = app.test_client()
    app.config["WTF_CSRF_ENABLED"] = False
    client.post("/creator/login", data={"username": "creator", "password": "a-long-password"})
    path, secret = shop["paths"]["paid lesson"]
    assert secret in client.get(path).get_data(as_text=True)


def test_library_lists_owned_items_newest_first(app, shop):
    status, body = _visit(app, shop["readers"]["owner"], "/library")
    assert status == 200
    assert body.count('class="library-item"') == 3
    status, body = _visit(app, shop["readers"]["guest"], "/library")
    assert "还没有已购内容" in body


def test_readable_section_ids_agrees_with_can_read_section_for_every_viewer(app):
    from app.catalog import entitlements
    from app.catalog.entitlements import Viewer

    with app.app_context():
        course = factories.product(
            ProductKind.COURSE, sections=[("试看", "a", True), ("付费", "b", False)]
        )
        free = factories.product(ProductKind.COLUMN, price_fen=0, sections=[("一", "c", False)])
        draft = factories.product(
            ProductKind.COURSE, published=False, sections=[("试看", "d", True)]
        )
        owner, stranger = factories.reader("o-1"), factories.reader("o-2")
        factories.give(owner, course)
        viewers = [Viewer(), Viewer(reader=owner), Viewer(reader=stranger), Viewer(is_creator=True)]
        for viewer in viewers:
            for item in (course, free, draft):
                expected = {s.id for s in item.sections if entitlements.can_read_section(viewer, s)}
                assert entitlements.readable_section_ids(viewer, item) == expected
