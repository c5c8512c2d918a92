"""A forged Host or X-Forwarded-Host never reaches a page, cached or not."""

import pytest

from app.catalog import queries
from app.extensions import db
from tests import factories

FORGED = "evil.example"


def _shop(app) -> str:
    with app.app_context():
        queries.editable_shop_profile()
        slug = factories.product(title="写作课").slug
        db.session.commit()
    return slug


def _page(client, path, **headers) -> str:
    response = client.get(path, headers=headers)
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("settings", "forged_headers"),
    [
        ({}, {"Host": FORGED}),
        ({"PROXY_FIX_HOPS": 1}, {"X-Forwarded-Host": FORGED}),
    ],
    ids=["host", "x-forwarded-host"],
)
def test_a_forged_host_is_not_cached_for_the_next_visitor(app_factory, settings, forged_headers):
    app = app_factory(PAGE_CACHE_SIZE=64, PAGE_CACHE_VERSION_TTL=3600, **settings)
    slug = _shop(app)
    forged = _page(app.test_client(), f"/p/{slug}", **forged_headers)
    assert FORGED in forged  # the og:image: without PUBLIC_BASE_URL the request's host is used
    assert FORGED not in _page(app.test_client(), f"/p/{slug}")


def test_public_base_url_makes_every_absolute_url_the_shops(app_factory):
    app = app_factory(
        PAGE_CACHE_SIZE=64, PROXY_FIX_HOPS=1, PUBLIC_BASE_URL="https://shop.example.com"
    )
    slug = _shop(app)
    client = app.test_client()
    page = _page(client, f"/p/{slug}", Host=FORGED, **{"X-Forwarded-Host": FORGED})
    assert FORGED not in page
    assert 'content="https://shop.example.com/static/img/' in page  # the og:image
    listing = client.get("/api/products", headers={"Host": FORGED}).get_json()
    assert listing["items"][0]["url"] == f"https://shop.example.com/p/{slug}"


def test_an_untrusted_host_gets_a_400_page(app_factory):
    app = app_factory(TRUSTED_HOSTS=["shop.example.com"])
    _shop(app)
    client = app.test_client()
    refused = client.get("/", headers={"Host": FORGED})
    assert refused.status_code == 400
    assert FORGED not in refused.get_data(as_text=True)
    assert client.get("/", headers={"Host": "shop.example.com"}).status_code == 200


def test_a_malformed_public_base_url_stops_the_start(app_factory):
    with pytest.raises(ValueError, match="PUBLIC_BASE_URL"):
        app_factory(PUBLIC_BASE_URL="shop.example.com")
