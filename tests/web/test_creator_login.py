import re

import pytest

from app.creators import create_creator
from app.extensions import db


def _create_creator(app):
    with app.app_context():
        create_creator("muBai", "correct horse battery")
        db.session.commit()


@pytest.fixture
def creator(app):
    _create_creator(app)


def _login(client, username, password, next_path=None):
    page = client.get("/creator/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    return client.post(
        "/creator/login",
        query_string={"next": next_path} if next_path else None,
        data={"username": username, "password": password, "csrf_token": token},
    )


def test_studio_needs_the_creator(client):
    response = client.get("/studio/")
    assert response.status_code == 302
    assert "/creator/login" in response.location


def test_creator_logs_in_and_out(creator, client):
    response = _login(client, "muBai", "correct horse battery")
    assert response.status_code == 302 and response.location.endswith("/studio/")
    assert "净收入" in client.get("/studio/").get_data(as_text=True)  # the dashboard

    page = client.get("/studio/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post("/creator/logout", data={"csrf_token": token})
    assert client.get("/studio/").status_code == 302


def test_wrong_password_and_unknown_user_get_the_same_answer(creator, client):
    wrong = _login(client, "muBai", "nope").get_data(as_text=True)
    unknown = _login(client, "nobody", "nope").get_data(as_text=True)
    assert "用户名或密码不正确" in wrong and "用户名或密码不正确" in unknown


def test_login_without_csrf_token_is_refused(creator, client):
    response = client.post(
        "/creator/login", data={"username": "muBai", "password": "correct horse battery"}
    )
    assert response.status_code == 400


def test_login_is_throttled(app_factory):
    app = app_factory(RATELIMIT_ENABLED=True)
    _create_creator(app)
    client = app.test_client()
    statuses = [_login(client, "muBai", f"guess-{i}").status_code for i in range(7)]
    assert statuses[:5] == [200] * 5
    assert statuses[5] == 429
    assert "操作太频繁" in _login(client, "muBai", "correct horse battery").get_data(as_text=True)


def test_next_after_login_stays_on_the_shop(creator, client):
    response = _login(client, "muBai", "correct horse battery", next_path="https://evil.example/")
    assert response.location.endswith("/studio/")


def test_passwords_are_stored_hashed(app, creator):
    from app.models import Creator

    with app.app_context():
        stored = db.session.scalar(db.select(Creator)).password_hash
    assert "correct horse battery" not in stored
    assert stored.startswith(("scrypt:", "pbkdf2:"))
