"""Anonymous catalog pages come from memory until the catalog changes."""

import pytest

from app.catalog import queries
from app.extensions import db
from app.models import Product
from tests import factories


@pytest.fixture
def cached_app(app_factory):
    app = app_factory(PAGE_CACHE_SIZE=64, PAGE_CACHE_VERSION_TTL=0)
    with app.app_context():
        queries.editable_shop_profile()
        product_id = factories.product(title="原来的标题").id
        db.session.commit()
    return app, product_id


def _rename(app, product_id, title, *, announce):
    with app.app_context():
        db.session.get(Product, product_id).title = title
        if announce:
            queries.mark_content_changed()
        db.session.commit()


def test_anonymous_home_is_served_from_cache_until_content_changes(cached_app):
    app, product_id = cached_app
    client = app.test_client()
    assert "原来的标题" in client.get("/").get_data(as_text=True)

    _rename(app, product_id, "悄悄改的标题", announce=False)
    assert "原来的标题" in client.get("/").get_data(as_text=True)  # still the cached page

    _rename(app, product_id, "正式改的标题", announce=True)
    assert "正式改的标题" in client.get("/").get_data(as_text=True)


def test_visitors_with_a_session_always_get_a_fresh_page(cached_app):
    app, product_id = cached_app
    anonymous = app.test_client()
    anonymous.get("/")
    _rename(app, product_id, "悄悄改的标题", announce=False)

    reader = app.test_client()
    with reader.session_transaction() as session:
        session["sid"] = "any-session-at-all"
    assert "悄悄改的标题" in reader.get("/").get_data(as_text=True)


def test_cached_pages_set_no_cookie(cached_app):
    app, _ = cached_app
    client = app.test_client()
    client.get("/")
    second = client.get("/")
    assert "Set-Cookie" not in second.headers


def test_the_version_is_read_at_most_once_per_ttl(app_factory):
    app = app_factory(PAGE_CACHE_SIZE=64, PAGE_CACHE_VERSION_TTL=3600)
    with app.app_context():
        queries.editable_shop_profile()
        product_id = factories.product(title="原来的标题").id
        db.session.commit()
    client = app.test_client()
    client.get("/")
    _rename(app, product_id, "正式改的标题", announce=True)
    # Within the TTL the old page stands; the change shows once the version is read again.
    assert "原来的标题" in client.get("/").get_data(as_text=True)
    app.extensions["page_cache"].version_ttl = 0
    assert "正式改的标题" in client.get("/").get_data(as_text=True)
