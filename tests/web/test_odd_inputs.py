"""Odd values in URLs get a clear answer, never a 500: control characters in `next=` and
other redirect targets, dates near year 1, ids larger than any 64-bit column."""

import re

import pytest

from app.extensions import db
from app.models import ProductKind
from app.web.redirects import safe_next
from tests import factories
from tests.payflow import csrf_token_in

TOO_LARGE = str(2**64)  # past any integer column
PAST_INTEGER = str(2**31)  # past PostgreSQL's integer, which the ids are
LARGEST = str(2**31 - 1)  # an integer, just nobody's id


@pytest.mark.parametrize("control", ["\n", "\r", "\r\n", "\x00", "\t", "\x7f", "\x85"])
def test_safe_next_refuses_control_characters(control):
    assert safe_next(f"/p/item{control}Set-Cookie: a=b", "/fallback") == "/fallback"
    assert safe_next("/p/写作课?from=share") == "/p/写作课?from=share"


def test_creator_login_with_a_newline_in_next_goes_to_the_studio(app, studio):
    client = app.test_client()
    page = client.get("/creator/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post(
        "/creator/login?next=/studio/orders%0ASet-Cookie:%20a=b",
        data={"username": "creator", "password": "correct horse battery", "csrf_token": token},
    )
    assert response.status_code == 302
    assert response.location == "/studio/"


def test_wechat_sign_in_with_a_newline_in_next_lands_home(wechat):
    response = wechat.sign_in(next_path="/library\r\nSet-Cookie: a=b")
    assert response.status_code == 302
    assert response.location == "/"


def test_the_sandbox_user_form_with_a_newline_in_next(client):
    token = csrf_token_in(client.get("/sandbox/").get_data(as_text=True))
    response = client.post(
        "/sandbox/users",
        data={"csrf_token": token, "nickname": "小王", "next": "/sandbox/\r\nSet-Cookie: a=b"},
    )
    assert response.status_code == 302
    assert response.location == "/sandbox/"


@pytest.mark.parametrize(
    "query",
    [
        "range=custom&from=0001-01-01&to=2024-01-01",
        "range=custom&from=0001-01-01&to=0001-01-02",
        "range=custom&from=2024-01-01&to=9999-12-31",
    ],
)
def test_the_dashboard_falls_back_from_dates_near_year_one(studio, query):
    assert studio.get(f"/studio/?{query}").status_code == 200
    assert studio.get(f"/studio/dashboard/revenue.csv?{query}").status_code == 200


def test_the_orders_filter_ignores_year_one_and_ids_past_an_integer(studio):
    assert studio.get("/studio/orders?from=0001-01-01&to=0001-01-02").status_code == 200
    assert studio.get("/studio/orders.csv?from=0001-01-01").status_code == 200
    for item in (PAST_INTEGER, "9" * 18):
        page = studio.get(f"/studio/orders?item={item}")
        assert page.status_code == 200 and "data-ignored-filters" in page.get_data(as_text=True)


@pytest.fixture
def ids(app):
    with app.app_context():
        course = factories.product(ProductKind.COURSE, sections=[("第一课", "课文", True)])
        return {"slug": course.slug, "id": course.id, "section": course.sections[0].id} | (
            db.session.commit() or {}
        )


@pytest.mark.parametrize("number", [TOO_LARGE, PAST_INTEGER, LARGEST, "9" * 40])
def test_ids_beyond_a_bigint_are_not_found(client, studio, ids, number):
    slug, product = ids["slug"], ids["id"]
    for path in (f"/p/{slug}/s/{number}", f"/p/{slug}/files/{number}"):
        assert client.get(path).status_code == 404, path
    for path in (
        f"/studio/products/{number}",
        f"/studio/products/{number}/sections/new",
        f"/studio/products/{product}/sections/{number}",
        f"/studio/readers/{number}",
    ):
        assert studio.get(path).status_code == 404, path
    token = csrf_token_in(studio.get(f"/studio/products/{product}").get_data(as_text=True))
    for path in (
        f"/studio/products/{number}/delete",
        f"/studio/products/{number}/publish",
        f"/studio/products/{product}/sections/{number}/move",
        f"/studio/products/{product}/sections/{number}/delete",
        f"/studio/products/{number}/files",
        f"/studio/products/{product}/files/{number}/delete",
    ):
        assert studio.post(path, data={"csrf_token": token}).status_code == 404, path
