"""Every answer says what the browser may run, frame, sniff, refer and keep."""

import re
from pathlib import Path

import pytest

from app.catalog import queries
from app.extensions import db
from app.models import ProductKind
from app.studio.dashboard_views import PLOTLY_VERSION
from tests import factories
from tests.conftest import sign_in_as
from tests.payflow import csrf_token_in, latest_order

TEMPLATES = Path(__file__).parents[2] / "app" / "templates"


def _directives(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    pairs = (part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    return {name: value for name, value in pairs}


def assert_secure_headers(response):
    csp = _directives(response)
    assert csp["default-src"] == "'self'"
    assert csp["script-src"] == "'self'"  # no inline script, no eval, no other host
    assert csp["frame-ancestors"] == "'none'"
    assert csp["object-src"] == "'none'"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def assert_not_stored(response):
    assert response.headers["Cache-Control"] == "private, no-store"


@pytest.fixture
def shop(app):
    with app.app_context():
        queries.editable_shop_profile()
        item = factories.product(title="写作课")
        factories.attach_file(item, Path(app.config["UPLOAD_FOLDER"]))
        course = factories.product(ProductKind.COURSE, sections=[("第一课", "课文", False)])
        owner = factories.reader()
        factories.give(owner, item)
        factories.give(owner, course)
        db.session.commit()
        return {
            "slug": item.slug,
            "file_id": item.files[0].id,
            "course": course.slug,
            "reader_id": owner.id,
        }


def test_public_pages_errors_and_files_carry_the_headers(client, shop):
    for path in ("/", f"/p/{shop['slug']}", "/no-such-page", "/static/js/pay.js"):
        with client.get(path) as response:
            assert_secure_headers(response)
    # A public catalog page may be kept by the browser as usual.
    assert "no-store" not in client.get(f"/p/{shop['slug']}").headers.get("Cache-Control", "")


def test_cached_anonymous_pages_carry_the_headers(app_factory):
    app = app_factory(PAGE_CACHE_SIZE=64, PAGE_CACHE_VERSION_TTL=3600)
    with app.app_context():
        queries.editable_shop_profile()
        db.session.commit()
    client = app.test_client()
    client.get("/")
    hit = client.get("/")
    assert app.extensions["page_cache"]._entries  # the second answer came from memory
    assert_secure_headers(hit)
    assert hit.headers.getlist("Content-Security-Policy") == [
        hit.headers["Content-Security-Policy"]
    ]


def test_what_a_buyer_reads_or_downloads_is_not_stored(client, shop):
    with client.session_transaction() as session:
        session["reader_id"] = shop["reader_id"]
    for path in (
        f"/p/{shop['slug']}/read",
        f"/p/{shop['slug']}/files/{shop['file_id']}",
        f"/p/{shop['course']}/s/1",
        "/library",
        "/orders",
    ):
        with client.get(path) as response:
            assert response.status_code == 200, path
            assert_secure_headers(response)
            assert_not_stored(response)


def test_pay_pages_are_not_stored(app, client, article):
    page = client.get(f"/p/{article}/buy").get_data(as_text=True)
    client.post(f"/p/{article}/buy", data={"channel": "native", "csrf_token": csrf_token_in(page)})
    order_page = client.get(f"/orders/{latest_order(app).out_trade_no}")
    assert order_page.status_code == 200
    assert "data-status-url" in order_page.get_data(as_text=True)  # the QR pay page
    assert_not_stored(order_page)
    assert_not_stored(client.get(f"/p/{article}/buy"))
    assert_not_stored(client.get(f"/p/{article}/tip"))


def test_the_studio_is_not_stored_but_its_chart_library_is_cached(studio):
    assert_not_stored(studio.get("/studio/"))
    assert_not_stored(studio.get("/studio/products"))
    assert_not_stored(studio.get("/creator/login"))
    plotly = studio.get(f"/studio/assets/plotly-{PLOTLY_VERSION}.min.js")
    assert "immutable" in plotly.headers["Cache-Control"]
    assert_secure_headers(plotly)


_SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)
_EVENT_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)


@pytest.mark.parametrize("template", sorted(TEMPLATES.rglob("*.html")), ids=lambda p: p.name)
def test_templates_have_no_inline_script(template):
    """What the policy forbids would silently not run: keep every script a file."""
    html = template.read_text(encoding="utf-8")
    for attributes in _SCRIPT_TAG.findall(html):
        assert "src=" in attributes or 'type="application/json"' in attributes, attributes
    assert not _EVENT_HANDLER.search(html)
    assert "javascript:" not in html


def test_a_signed_in_readers_pages_are_private_to_their_browser(app, client, shop):
    with app.app_context():
        reader_id = factories.reader("o-reader").id
        db.session.commit()
    assert "Cache-Control" not in client.get("/").headers  # anonymous: anyone's
    sign_in_as(app, client, reader_id)
    assert client.get("/").headers["Cache-Control"] == "private"
