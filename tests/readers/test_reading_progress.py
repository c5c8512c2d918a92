"""Courses remember where a reader stopped, and offer to continue there."""

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
