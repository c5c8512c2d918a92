"""Courses remember where a reader stopped, and offer to continue there."""

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import ProductKind, Reader
from tests import factories
from tests.conftest import session_reader_id, sign_in_as


def _course(app, owner_id=None):
    with app.app_context():
        course = factories.product(
            ProductKind.COURSE,
            sections=[("第一课", "一", True), ("第二课", "二", False), ("第三课", "三", False)],
        )
        if owner_id:
            factories.give(db.session.get(Reader, owner_id), course)
        db.session.commit()
        return course.slug


def _owner(app):
    with app.app_context():
        owner = factories.reader(openid="o-progress")
        db.session.commit()
        return owner.id


def test_continue_reading_goes_to_the_last_lesson(app, client):
    owner_id = _owner(app)
    slug = _course(app, owner_id)
    sign_in_as(app, client, owner_id)

    first = client.get(f"/p/{slug}/read")
    assert first.location.endswith(f"/p/{slug}/s/1")  # nothing read yet: start at the start

    client.get(f"/p/{slug}/s/3")
    assert client.get(f"/p/{slug}/read").location.endswith(f"/p/{slug}/s/3")
    page = client.get(f"/p/{slug}").get_data(as_text=True)
    assert "继续学习：第三课" in page
    library = client.get("/library").get_data(as_text=True)
    assert "上次读到：第三课" in library


def test_lesson_pages_link_previous_and_next(app, client):
    owner_id = _owner(app)
    slug = _course(app, owner_id)
    sign_in_as(app, client, owner_id)
    page = client.get(f"/p/{slug}/s/2").get_data(as_text=True)
    assert f'href="/p/{slug}/s/1"' in page and f'href="/p/{slug}/s/3"' in page
    assert client.get(f"/p/{slug}/s/9").status_code == 404


def test_a_guest_trying_a_free_lesson_is_remembered(app, client):
    slug = _course(app)
    with app.app_context():
        guest = factories.reader()
        db.session.commit()
        guest_id = guest.id
    sign_in_as(app, client, guest_id)
    assert client.get(f"/p/{slug}/s/1").status_code == 200
    assert client.get(f"/p/{slug}/read").location.endswith(f"/p/{slug}/s/1")
    # A locked lesson does not count as read.
    assert client.get(f"/p/{slug}/s/2").status_code == 403
    assert client.get(f"/p/{slug}/read").location.endswith(f"/p/{slug}/s/1")


def test_a_visitor_trying_a_free_lesson_is_not_made_a_guest(app, client):
    slug = _course(app)
    response = client.get(f"/p/{slug}/s/1")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert session_reader_id(app, client) is None


def _progress_writes(statements):
    def note(conn, cursor, statement, parameters, context, executemany):
        if "reading_progress" in statement and not statement.lstrip().startswith("SELECT"):
            statements.append(statement)

    return note


def test_reopening_the_same_lesson_writes_nothing(app, client):
    owner_id = _owner(app)
    slug = _course(app, owner_id)
    sign_in_as(app, client, owner_id)
    with app.app_context():
        engine = db.engine
    writes = []
    listener = _progress_writes(writes)
    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        client.get(f"/p/{slug}/s/2")
        assert len(writes) == 1  # the first visit saves it
        for _ in range(3):
            assert client.get(f"/p/{slug}/s/2").status_code == 200
        assert len(writes) == 1  # reloads do not
        client.get(f"/p/{slug}/s/3")
        assert len(writes) == 2
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)
    assert client.get(f"/p/{slug}/read").location.endswith(f"/p/{slug}/s/3")


def test_a_lesson_opened_while_another_reader_writes_is_saved(app, client):
    """On SQLite the page's transaction has read before progress is known; were it to write,
    another writer committing meanwhile would make it fail at once ("database is locked",
    whatever the busy timeout). The write waits for the lock instead, then is saved."""
    import sqlite3
    import threading

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("SQLite's locking; PostgreSQL takes row locks as it writes")
    owner_id = _owner(app)
    slug = _course(app, owner_id)
    sign_in_as(app, client, owner_id)
    with app.app_context():
        path = db.engine.url.database
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another reader is writing...
    other.execute("UPDATE readers SET nickname = 'busy' WHERE id = ?", (owner_id,))
    release = threading.Timer(0.5, lambda: other.execute("COMMIT"))  # ... and commits soon
    release.start()
    try:
        page = client.get(f"/p/{slug}/s/2")
    finally:
        release.join()
        other.close()
    assert page.status_code == 200
    assert client.get(f"/p/{slug}/read").location.endswith(f"/p/{slug}/s/2")


def test_a_failed_progress_write_never_fails_the_lesson(app, client, caplog):
    """The database refuses the write (locked past the busy timeout, or down): the lesson is
    served, the failure is logged, and the next visit tries again."""
    owner_id = _owner(app)
    slug = _course(app, owner_id)
    sign_in_as(app, client, owner_id)
    with app.app_context():
        engine = db.engine

    def refuse(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().startswith("INSERT INTO reading_progress"):
            raise sa.exc.OperationalError(statement, parameters, Exception("database is locked"))

    sa.event.listen(engine, "before_cursor_execute", refuse)
    try:
        page = client.get(f"/p/{slug}/s/3")
    finally:
        sa.event.remove(engine, "before_cursor_execute", refuse)
    assert page.status_code == 200 and "第三课" in page.get_data(as_text=True)
    assert "reading progress not saved" in caplog.text
    assert client.get(f"/p/{slug}/read").location.endswith(f"/p/{slug}/s/1")  # not saved

    assert client.get(f"/p/{slug}/s/3").status_code == 200
    assert client.get(f"/p/{slug}/read").location.endswith(f"/p/{slug}/s/3")
