"""Catalog pages come from memory until the catalog changes: one page for anonymous
visitors, one per set of reader facts for signed-in readers."""

import time

import pytest
import sqlalchemy as sa
from flask import render_template_string

from app.catalog import queries
from app.extensions import db
from app.models import Entitlement, EntitlementSource, Product, ProductKind, Reader, Section
from app.models.base import utcnow
from app.readers import web_sessions
from app.web.page_cache import cached_page
from tests import factories
from tests.conftest import WECHAT_UA, creator_client, sign_in_as


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


def test_a_change_to_the_walls_renews_only_the_pages_that_show_one(cached_app):
    """A tip paid (its wall changed) must not expire every cached page of the shop."""
    app, product_id = cached_app
    client = app.test_client()
    with app.app_context():
        slug = db.session.get(Product, product_id).slug
    client.get("/")
    client.get(f"/p/{slug}")

    _rename(app, product_id, "悄悄改的标题", announce=False)
    with app.app_context():
        queries.mark_walls_changed()  # as a paid tip does
        db.session.commit()
    assert "原来的标题" in client.get("/").get_data(as_text=True)  # no wall: still cached
    assert "悄悄改的标题" in client.get(f"/p/{slug}").get_data(as_text=True)  # shows a wall


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


# --- signed-in readers: pages shared by readers with the same facts ---------------------------


@pytest.fixture
def shop_for_readers(app_factory):
    """A cached and an uncached app on one database, readers in different states, and the
    pages to compare."""
    cached = app_factory(PAGE_CACHE_SIZE=256, PAGE_CACHE_VERSION_TTL=0)
    fresh = app_factory(PAGE_CACHE_SIZE=0)  # (each app created first: creating one resets)
    with cached.app_context():
        queries.shop_profile()
        topic = factories.tag("writing", "写作")
        course = factories.product(
            ProductKind.COURSE,
            title="写作课",
            tags=[topic],
            sections=[("第一课", "免费内容", True), ("第二课", "付费内容", False)],
        )
        article = factories.product(title="一篇文章", tags=[topic], featured=True)
        owner, stranger, reader_of_article = (factories.reader(f"o-{n}") for n in range(3))
        guest = factories.reader(nickname="一位游客")
        factories.give(owner, course)
        factories.give(reader_of_article, article)
        factories.give(guest, article)
        queries.mark_content_changed()
        db.session.commit()
        ids = {
            "owner": owner.id,
            "stranger": stranger.id,
            "article": reader_of_article.id,
            "guest": guest.id,
        }
        pages = [
            "/",
            "/about",
            "/tags/writing",
            f"/p/{course.slug}",
            f"/p/{article.slug}",
            "/library",
            "/me",
        ]
        lessons = [f"/p/{course.slug}/s/1", f"/p/{course.slug}/s/2"]
    _page(fresh, ids["owner"], lessons[1])  # where the owner is in the course
    return cached, fresh, ids, pages + lessons


def _answer(app, reader_id, path):
    client = app.test_client()
    sign_in_as(app, client, reader_id)
    response = client.get(path, headers={"User-Agent": WECHAT_UA})
    return response.status_code, response.get_data(as_text=True)


def _page(app, reader_id, path):
    status, body = _answer(app, reader_id, path)
    assert status == 200, path
    return body


def test_a_signed_in_reader_gets_what_a_fresh_render_would_show(shop_for_readers):
    cached, fresh, ids, pages = shop_for_readers
    for who in ("owner", "stranger", "article", "guest", "owner", "stranger", "guest"):  # hits
        for path in pages:
            assert _answer(cached, ids[who], path) == _answer(fresh, ids[who], path), (who, path)


def test_readers_with_the_same_facts_share_one_rendered_page(shop_for_readers):
    cached, _, ids, pages = shop_for_readers
    _page(cached, ids["stranger"], pages[3])
    entries = len(cached.extensions["page_cache"]._entries)
    with cached.app_context():
        other = factories.reader("o-another-stranger").id
        db.session.commit()
    assert "price-owned" not in _page(cached, other, pages[3])
    assert len(cached.extensions["page_cache"]._entries) == entries  # served, not rendered


def test_a_purchase_or_progress_shows_at_once_without_a_catalog_change(shop_for_readers):
    cached, _, ids, pages = shop_for_readers
    course_page = pages[3]
    assert "price-owned" not in _page(cached, ids["stranger"], course_page)
    with cached.app_context():
        stranger = db.session.get(Reader, ids["stranger"])
        course = queries.find_product(course_page.rsplit("/", 1)[1])
        factories.give(stranger, course)
        db.session.commit()
    page = _page(cached, ids["stranger"], course_page)
    assert "price-owned" in page and "继续学习" not in page
    assert "写作课" in _page(cached, ids["stranger"], "/library")
    _page(cached, ids["stranger"], course_page + "/s/2")  # opening a lesson records it
    assert "继续学习：第二课" in _page(cached, ids["stranger"], course_page)
    assert "上次读到：第二课" in _page(cached, ids["stranger"], "/library")


def test_a_cached_page_never_skips_the_silent_wechat_sign_in(shop_for_readers):
    """Inside WeChat a guest is signed in on its first catalog page, cached or not."""
    cached, _, ids, _pages = shop_for_readers
    declined = cached.test_client()  # the guest once refused: WeChat is not asked again
    sign_in_as(cached, declined, ids["guest"])
    with declined.session_transaction() as session:
        session["wechat_oauth_tried"] = True
    assert declined.get("/", headers={"User-Agent": WECHAT_UA}).status_code == 200
    fresh = cached.test_client()  # the same guest's facts, WeChat not asked yet
    sign_in_as(cached, fresh, ids["guest"])
    to_login = fresh.get("/", headers={"User-Agent": WECHAT_UA})
    assert to_login.status_code == 302 and "/auth/wechat" in to_login.location


def test_pending_messages_are_never_cached(shop_for_readers):
    cached, _, ids, _pages = shop_for_readers
    client = cached.test_client()
    sign_in_as(cached, client, ids["owner"])
    client.get("/")
    with client.session_transaction() as session:
        session["_flashes"] = [("info", "一条提示")]
    assert "一条提示" in client.get("/").get_data(as_text=True)
    assert "一条提示" not in client.get("/").get_data(as_text=True)


def test_the_creator_always_gets_a_fresh_page(shop_for_readers):
    cached, _, _ids, pages = shop_for_readers
    client = creator_client(cached)
    client.get(pages[4])
    with cached.app_context():
        queries.find_product(pages[4].rsplit("/", 1)[1]).title = "悄悄改的标题"
        db.session.commit()
    assert "悄悄改的标题" in client.get(pages[4]).get_data(as_text=True)


# --- races: what a render reads is what its key says --------------------------------------


@pytest.fixture
def course_shop(app_factory):
    app = app_factory(PAGE_CACHE_SIZE=256, PAGE_CACHE_VERSION_TTL=0)
    with app.app_context():
        queries.editable_shop_profile()
        course = factories.product(
            ProductKind.COURSE,
            title="写作课",
            sections=[("第一课", "免费内容", True), ("第二课", "付费秘密-LESSON2", False)],
        )
        article = factories.product(title="一篇付费文章")
        buyer, stranger = factories.reader("buyer"), factories.reader("stranger")
        queries.mark_content_changed()
        db.session.commit()
        ids = {
            "course": course.id,
            "slug": course.slug,
            "article": article.id,
            "article_slug": article.slug,
            "buyer": buyer.id,
            "stranger": stranger.id,
        }
    return app, ids


def _payment_lands_after_the_facts(monkeypatch, reader_id, product_id):
    """The buyer's payment commits (another worker) just after their facts were read."""
    real_find_live = web_sessions.find_live
    fired = []

    def find_live_then_payment(token, idle_limit):
        live, facts = real_find_live(token, idle_limit)
        if live is not None and live.reader_id == reader_id and not fired:
            fired.append(True)
            with db.engine.begin() as other:
                other.execute(
                    sa.insert(Entitlement.__table__).values(
                        reader_id=reader_id,
                        product_id=product_id,
                        source=EntitlementSource.PURCHASE,
                        granted_at=utcnow(),
                    )
                )
        return live, facts

    monkeypatch.setattr(web_sessions, "find_live", find_live_then_payment)
    return lambda: monkeypatch.setattr(web_sessions, "find_live", real_find_live)


@pytest.mark.parametrize("page", ["lesson", "article"])
def test_a_payment_landing_mid_render_never_shares_the_paid_page(course_shop, monkeypatch, page):
    app, ids = course_shop
    product_id, path, secret = {
        "lesson": (ids["course"], f"/p/{ids['slug']}/s/2", "付费秘密-LESSON2"),
        "article": (ids["article"], f"/p/{ids['article_slug']}", factories.PAID_SECRET),
    }[page]
    restore = _payment_lands_after_the_facts(monkeypatch, ids["buyer"], product_id)
    _answer(app, ids["buyer"], path)
    restore()
    status, body = _answer(app, ids["stranger"], path)
    assert secret not in body
    assert status == (403 if page == "lesson" else 200)


def test_a_page_rendered_before_a_catalog_change_is_not_stored_as_after_it(
    course_shop, monkeypatch
):
    """The version held per process can be newer than what a render reads (threads, or a
    slow render): the page is stored under the version its own transaction read."""
    app, ids = course_shop
    real_find_live = web_sessions.find_live
    fired = []

    def find_live_then_lesson_made_paid(token, idle_limit):
        found = real_find_live(token, idle_limit)
        if not fired:
            fired.append(True)
            # The request's own transaction has read the catalog (a guest's reader row is
            # read before the facts, say): its snapshot is taken.
            queries.content_version()
            with db.engine.begin() as other:  # the creator makes the free lesson paid
                other.execute(
                    sa.update(Section.__table__)
                    .where(Section.__table__.c.product_id == ids["course"])
                    .values(is_free=False)
                )
            with app.app_context():
                queries.mark_content_changed()
                db.session.commit()
                newer = queries.page_versions()
            cache = app.extensions["page_cache"]  # another thread has just read it
            cache._versions, cache._versions_read_at = newer, time.monotonic()
        return found

    lesson = f"/p/{ids['slug']}/s/1"
    _answer(app, ids["buyer"], "/about")  # the cache exists and has read the version
    app.extensions["page_cache"].version_ttl = 3600
    monkeypatch.setattr(web_sessions, "find_live", find_live_then_lesson_made_paid)
    _answer(app, ids["buyer"], lesson)
    monkeypatch.setattr(web_sessions, "find_live", real_find_live)
    assert _answer(app, ids["stranger"], lesson)[0] == 403


def test_a_page_that_shows_the_reader_is_never_shared(app_factory):
    app = app_factory(PAGE_CACHE_SIZE=64, PAGE_CACHE_VERSION_TTL=0)

    @app.get("/whoami")
    @cached_page(lambda: "everyone the same")
    def whoami():
        return render_template_string("{{ current_reader.nickname }}")

    with app.app_context():
        queries.mark_content_changed()
        first, second = factories.reader("o-1", "第一位"), factories.reader("o-2", "第二位")
        db.session.commit()
        ids = first.id, second.id
    assert _page(app, ids[0], "/whoami") == "第一位"
    assert _page(app, ids[1], "/whoami") == "第二位"
