import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app import create_app
from app.extensions import db, limiter
from app.models import LoginFailure
from app.models.base import utcnow
from app.readers.creators import create_creator


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
    refused = _login(client, "muBai", "correct horse battery")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) <= 60
    assert "登录尝试太频繁，请 1 分钟后再试" in refused.get_data(as_text=True)


def test_two_workers_share_one_count(app_factory, tmp_path):
    """Two app instances on one database, as two gunicorn workers are."""
    first = app_factory(RATELIMIT_ENABLED=True)
    second = create_app(dict(first.config), instance_path=str(tmp_path / "second"))
    _create_creator(first)
    statuses = [_login(first.test_client(), "muBai", f"guess-{i}").status_code for i in range(5)]
    assert statuses == [200] * 5
    # The other worker is another process: nothing of the first one's memory is in it.
    limiter.reset()
    assert _login(second.test_client(), "muBai", "guess-5").status_code == 429
    with second.app_context():
        db.engine.dispose()


def _from(ip):
    return {"REMOTE_ADDR": ip}


def test_a_username_is_locked_briefly_against_guessers_with_many_ips(app_factory):
    app = app_factory(RATELIMIT_ENABLED=True, CREATOR_LOGIN_USERNAME_LIMIT="3 per 15 minutes")
    _create_creator(app)
    for i in range(3):
        client = app.test_client()
        client.environ_base.update(_from(f"203.0.113.{i}"))
        assert _login(client, "muBai", f"guess-{i}").status_code == 200
    creator = app.test_client()
    creator.environ_base.update(_from("198.51.100.7"))
    refused = _login(creator, "muBai", "correct horse battery")
    assert refused.status_code == 429
    assert "这个账号登录失败次数过多，已暂时锁定，请 15 分钟后再试" in refused.get_data(
        as_text=True
    )
    other = app.test_client()
    other.environ_base.update(_from("198.51.100.8"))
    assert _login(other, "someone-else", "whatever").status_code == 200  # other names are free

    # The lockout ends when the guesses age out, and a login clears them.
    with app.app_context():
        db.session.execute(
            sa.update(LoginFailure).values(failed_at=utcnow() - timedelta(minutes=16))
        )
        db.session.commit()
    assert _login(creator, "muBai", "correct horse battery").status_code == 302
    with app.app_context():
        left = db.session.scalars(sa.select(LoginFailure.username)).all()
    assert left == ["someone-else"]


def test_next_after_login_stays_on_the_shop(creator, client):
    response = _login(client, "muBai", "correct horse battery", next_path="https://evil.example/")
    assert response.location.endswith("/studio/")


def test_passwords_are_stored_hashed(app, creator):
    from app.models import Creator

    with app.app_context():
        stored = db.session.scalar(db.select(Creator)).password_hash
    assert "correct horse battery" not in stored
    assert stored.startswith(("scrypt:", "pbkdf2:"))
