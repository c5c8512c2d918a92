"""A signed-in page learns who is there and what they own, read, and are recommended in one
statement (app/readers/snapshot.py, web_sessions.find_live)."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import ProductKind, ReaderRecs, ReadingProgress, WebSession
from app.models.base import utcnow
from app.readers import snapshot, web_sessions
from tests import factories
from tests.conftest import WECHAT_UA, sign_in_as

YEAR = timedelta(days=365)


@pytest.fixture
def app(app_factory):
    """This module's shop keeps a page cache, as a real one does."""
    return app_factory(PAGE_CACHE_SIZE=64)


@pytest.fixture
def reading_reader(app):
    """A reader who owns a course and an article, is at the course's second lesson, and has
    a stored 为你推荐 list; and a session of theirs."""
    with app.app_context():
        course = factories.product(
            ProductKind.COURSE,
            sections=[("第一课", "一", True), ("第二课", "二", False), ("第三课", "三", False)],
        )
        article, other = factories.product(), factories.product()
        reader = factories.reader("o-reading", "在读")
        factories.give(reader, course)
        factories.give(reader, article)
        db.session.add(
            ReadingProgress(
                reader_id=reader.id, product_id=course.id, section_id=course.sections[1].id
            )
        )
        db.session.add(ReaderRecs(reader_id=reader.id, items=[other.id, article.id]))
        token, _ = web_sessions.start(reader_id=reader.id)
        db.session.commit()
        return {
            "token": token,
            "reader": reader.id,
            "course": (course.id, course.slug, course.sections[1].id),
            "article": article.id,
            "other": other.id,
        }


def test_the_session_and_its_readers_facts_come_together(app, reading_reader):
    made = reading_reader
    course_id, course_slug, second_lesson = made["course"]
    with app.app_context():
        live, facts = web_sessions.find_live(made["token"], YEAR)
        by_id = snapshot.of_reader(made["reader"])
    assert live.reader_id == made["reader"] and live.creator_id is None
    assert facts.profile == snapshot.Profile(made["reader"], False, "在读", None)
    assert facts.owned == {course_id, made["article"]}
    assert list(facts.owned_since) == [made["article"], course_id]  # newest first
    assert dict(facts.bookmarks) == {course_slug: snapshot.Bookmark(course_id, second_lesson, 2)}
    assert facts.for_you == (made["other"], made["article"])
    assert by_id == facts


@pytest.mark.parametrize(
    "change",
    [
        {"ended_at": utcnow()},
        {"last_seen_at": utcnow() - timedelta(days=366)},
    ],
    ids=["ended", "idle"],
)
def test_a_session_that_is_over_opens_nothing_and_shows_nothing(app, reading_reader, change):
    with app.app_context():
        db.session.execute(sa.update(WebSession).values(**change))
        db.session.commit()
        assert web_sessions.find_live(reading_reader["token"], YEAR) == (None, snapshot.NOBODY)
        assert web_sessions.find_live("a token nobody holds", YEAR) == (None, snapshot.NOBODY)


def test_a_session_without_a_reader_has_no_facts(app, reading_reader):
    with app.app_context():
        token, _ = web_sessions.start(creator_id=None)
        db.session.commit()
        live, facts = web_sessions.find_live(token, YEAR)
    assert live is not None and live.reader_id is None
    assert facts is snapshot.NOBODY


def test_a_reader_with_nothing_has_only_a_profile(app):
    with app.app_context():
        reader = factories.reader("o-new")
        guest = factories.reader()
        token, _ = web_sessions.start(reader_id=reader.id)
        db.session.commit()
        ids = reader.id, guest.id
        live, facts = web_sessions.find_live(token, YEAR)
        guest_facts = snapshot.of_reader(guest.id)
    assert live.reader_id == ids[0]
    assert facts == snapshot.ReaderSnapshot(snapshot.Profile(ids[0], False, None, None))
    assert guest_facts.profile == snapshot.Profile(ids[1], True, None, None)
    assert not facts.owned and not facts.bookmarks and not facts.for_you


def test_the_profile_carries_the_name_and_picture_the_reader_chose(app):
    with app.app_context():
        reader = factories.reader("o-named", "微信名")
        reader.avatar_url = "https://thirdwx.qlogo.cn/mmopen/vi_32/abc/132"
        reader.chosen_name, reader.chosen_avatar = "自己起的", "1-0123456789.jpg"
        db.session.commit()
        reader_id = reader.id
        profile = snapshot.of_reader(reader_id).profile
    assert profile == snapshot.Profile(
        reader_id,
        False,
        "微信名",
        "https://thirdwx.qlogo.cn/mmopen/vi_32/abc/132",
        "自己起的",
        "1-0123456789.jpg",
    )
    assert profile.display_name == "自己起的"


def test_a_cached_page_costs_a_signed_in_reader_one_statement(app, statements):
    with app.app_context():
        course = factories.product(
            ProductKind.COURSE, sections=[("第一课", "一", True), ("第二课", "二", True)]
        )
        reader = factories.reader("o-fast")
        factories.give(reader, course)
        db.session.commit()
        reader_id, slug = reader.id, course.slug
    client = app.test_client()
    sign_in_as(app, client, reader_id)
    with client.session_transaction() as session:
        session["wechat_oauth_tried"] = True  # as WeChat's sign-in leaves it
    pages = ["/", f"/p/{slug}", f"/p/{slug}/s/1", "/library", "/me"]
    for path in pages + pages:  # rendered (the course page again once progress is saved)
        assert client.get(path, headers={"User-Agent": WECHAT_UA}).status_code == 200

    for path in pages:
        statements.clear()
        assert client.get(path, headers={"User-Agent": WECHAT_UA}).status_code == 200
        assert len(statements) == 1, (path, statements)
        assert "web_sessions" in statements[0] and "entitlements" in statements[0]
