"""Server-side sessions: signing in replaces the session, signing out ends it, copies die."""

from datetime import timedelta

import sqlalchemy as sa

from app.extensions import db
from app.models import Reader, WebSession
from app.models.base import utcnow
from tests import factories
from tests.conftest import WECHAT_UA, WeChatSignIn, path_of, session_reader_id, sign_in_as
from tests.payflow import csrf_token_in


def _cookie(client) -> str:
    return client.get_cookie("session").value


def _copy_of(app, client):
    """Another browser holding a copy of this client's session cookie as it is now."""
    copy = app.test_client()
    copy.set_cookie("session", _cookie(client))
    return copy


def _planted_guest(app, title="攻击者买的"):
    """An attacker's guest session with one purchase: the attacker's client and the item."""
    with app.app_context():
        guest = factories.reader()
        item = factories.product(title=title)
        factories.give(guest, item)
        db.session.commit()
        guest_id = guest.id
    attacker = app.test_client()
    sign_in_as(app, attacker, guest_id)
    return attacker, guest_id


def _victim_with_cookie_of(app, attacker, **environ):
    victim = app.test_client()
    victim.environ_base.update(environ)
    victim.set_cookie("session", _cookie(attacker))
    return victim


def test_binding_wechat_from_a_planted_guest_cookie_leaves_the_old_cookie_a_guest(app):
    attacker, guest_id = _planted_guest(app)
    victim = _victim_with_cookie_of(app, attacker)

    WeChatSignIn(victim).sign_in(nickname="受害者", scope="userinfo")

    # The guest the victim's browser was is now the victim's WeChat reader, purchases and all
    # (a guest who binds keeps what they bought) ...
    assert session_reader_id(app, victim) == guest_id
    assert "受害者" in victim.get("/me").get_data(as_text=True)
    # ... but the cookie the attacker kept opens nothing any more.
    assert session_reader_id(app, attacker) is None
    page = attacker.get("/me").get_data(as_text=True)
    assert "受害者" not in page and "游客" in page
    assert "攻击者买的" not in attacker.get("/library").get_data(as_text=True)


def test_signing_in_to_an_existing_wechat_reader_from_a_planted_cookie(app, client, wechat):
    wechat.sign_in(nickname="受害者")
    victim_id = session_reader_id(app, client)
    with app.app_context():
        owned = factories.product(title="受害者的课")
        factories.give(db.session.get(Reader, victim_id), owned)
        openid = db.session.get(Reader, victim_id).openid
        db.session.commit()
    attacker, guest_id = _planted_guest(app)
    victim = _victim_with_cookie_of(app, attacker)

    WeChatSignIn(victim).sign_in(openid=openid)

    assert session_reader_id(app, victim) == victim_id
    library = victim.get("/library").get_data(as_text=True)
    assert "受害者的课" in library and "攻击者买的" in library  # the guest merged in
    assert session_reader_id(app, attacker) is None
    assert "受害者的课" not in attacker.get("/library").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Reader, guest_id) is None  # merged: its sessions went with it


def test_the_silent_sign_in_inside_wechat_rotates_the_session_too(app):
    attacker, guest_id = _planted_guest(app)
    victim = _victim_with_cookie_of(app, attacker, HTTP_USER_AGENT=WECHAT_UA)

    to_login = victim.get("/")
    assert path_of(to_login.location).startswith("/auth/wechat")
    sandbox = WeChatSignIn(victim)
    authorize = victim.get(path_of(to_login.location)).location
    sandbox.finish(sandbox.decide(authorize, nickname="受害者"))

    assert session_reader_id(app, victim) == guest_id
    assert session_reader_id(app, attacker) is None


def test_the_new_session_keeps_nothing_of_the_planted_cookie(app):
    attacker, _ = _planted_guest(app)
    with attacker.session_transaction() as session:
        session["csrf_token"] = "known-to-the-attacker"
    victim = _victim_with_cookie_of(app, attacker)
    WeChatSignIn(victim).sign_in(nickname="受害者")
    with victim.session_transaction() as session:
        assert "csrf_token" not in session
        assert session["sid"] != _session_token(attacker)


def _session_token(client):
    with client.session_transaction() as session:
        return session.get("sid")


def test_reader_logout_ends_the_session_on_the_server(app, client, wechat):
    wechat.sign_in(nickname="小明", scope="userinfo")
    before_logout = _copy_of(app, client)
    assert "/auth/logout" in client.get("/me").get_data(as_text=True)
    token = csrf_token_in(client.get("/auth/logout").get_data(as_text=True))

    client.post("/auth/logout", data={"csrf_token": token})

    assert session_reader_id(app, client) is None
    assert session_reader_id(app, before_logout) is None
    assert "小明" not in before_logout.get("/me").get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(WebSession.ended_at)) is not None


def test_logging_out_is_asked_first_and_only_of_a_wechat_reader(app, client, wechat):
    assert client.get("/auth/logout").location.endswith("/me")  # nobody to sign out
    wechat.sign_in(nickname="小红", scope="userinfo")
    page = client.get("/auth/logout").get_data(as_text=True)
    assert "小红" in page and 'action="/auth/logout"' in page
    assert session_reader_id(app, client) is not None  # asking signs nobody out


def _studio_token(client):
    return csrf_token_in(client.get("/studio/").get_data(as_text=True))


def test_creator_logout_ends_the_session_on_the_server(app, studio):
    before_logout = _copy_of(app, studio)
    studio.post("/creator/logout", data={"csrf_token": _studio_token(studio)})

    assert studio.get("/studio/").status_code == 302
    assert before_logout.get("/studio/").status_code == 302  # the copy is logged out too


def test_creator_logout_keeps_the_reader_this_browser_is(app, studio):
    with app.app_context():
        item = factories.product(price_fen=0)
        db.session.commit()
        slug = item.slug
    page = studio.get(f"/p/{slug}/buy").get_data(as_text=True)
    studio.post(f"/p/{slug}/buy", data={"csrf_token": csrf_token_in(page)})
    reader_id = session_reader_id(app, studio)
    assert reader_id is not None
    assert studio.get("/studio/").status_code == 200  # the reader joined the creator's session

    studio.post("/creator/logout", data={"csrf_token": _studio_token(studio)})
    assert studio.get("/studio/").status_code == 302
    assert session_reader_id(app, studio) == reader_id


def test_creator_login_starts_a_fresh_session(app, studio):
    attacker, _ = _planted_guest(app)
    victim = _victim_with_cookie_of(app, attacker)
    page = victim.get("/creator/login").get_data(as_text=True)
    token = csrf_token_in(page.replace('type="hidden" ', ""))
    login = victim.post(
        "/creator/login",
        data={"username": "creator", "password": "correct horse battery", "csrf_token": token},
    )

    assert victim.get("/studio/").status_code == 200
    assert session_reader_id(app, victim) is None  # the planted guest is not carried in
    assert "Expires" not in login.headers["Set-Cookie"]  # the studio's ends with the browser
    assert _session_token(victim) != _session_token(attacker)
    assert session_reader_id(app, attacker) is None
    assert attacker.get("/studio/").status_code == 302


def test_a_session_unused_for_its_lifetime_is_over(app, client):
    with app.app_context():
        reader = factories.reader(openid="o-idle", nickname="久未登录")
        db.session.commit()
        reader_id = reader.id
    sign_in_as(app, client, reader_id)
    assert "久未登录" in client.get("/me").get_data(as_text=True)
    with app.app_context():
        db.session.execute(
            sa.update(WebSession).values(last_seen_at=utcnow() - timedelta(days=366))
        )
        db.session.commit()
    assert "久未登录" not in client.get("/me").get_data(as_text=True)


def test_last_seen_is_kept_current_at_most_hourly(app, client):
    with app.app_context():
        reader = factories.reader()
        db.session.commit()
        reader_id = reader.id
    sign_in_as(app, client, reader_id)
    two_hours_ago = utcnow() - timedelta(hours=2)
    with app.app_context():
        db.session.execute(sa.update(WebSession).values(last_seen_at=two_hours_ago))
        db.session.commit()
    client.get("/me")
    with app.app_context():
        seen = db.session.scalar(sa.select(WebSession.last_seen_at))
    assert seen > utcnow() - timedelta(minutes=1)


def test_the_cookie_is_sent_again_only_when_the_session_is_marked_seen(app, client):
    """A reader's cookie lasts a year from the last visit: re-sent (with a new expiry) when
    the server marks the session seen, at most hourly; other pages carry no Set-Cookie."""
    with app.app_context():
        reader = factories.reader("o-cookie")
        db.session.commit()
        reader_id = reader.id
    sign_in_as(app, client, reader_id)
    with client.session_transaction() as session:
        session.permanent = True
        session["wechat_oauth_tried"] = True
    client.get("/", headers={"User-Agent": WECHAT_UA})  # flask-login notes _fresh once
    page = client.get("/", headers={"User-Agent": WECHAT_UA})
    assert page.status_code == 200 and "Set-Cookie" not in page.headers

    with app.app_context():
        db.session.execute(sa.update(WebSession).values(last_seen_at=utcnow() - timedelta(hours=2)))
        db.session.commit()
    refreshed = client.get("/", headers={"User-Agent": WECHAT_UA})
    cookie = refreshed.headers["Set-Cookie"]
    assert "Expires=" in cookie and str(utcnow().year + 1) in cookie
    assert "Set-Cookie" not in client.get("/", headers={"User-Agent": WECHAT_UA}).headers


def test_the_database_holds_only_a_digest_of_the_cookie_token(app, client):
    with app.app_context():
        reader = factories.reader()
        db.session.commit()
        reader_id = reader.id
    sign_in_as(app, client, reader_id)
    with app.app_context():
        stored = db.session.scalar(sa.select(WebSession.id))
    assert _session_token(client) not in stored and len(stored) == 64


def test_identity_costs_one_key_lookup_and_anonymous_visitors_none(app, client, statements):
    with app.app_context():
        reader = factories.reader()
        db.session.commit()
        reader_id = reader.id
    client.get("/me")
    assert not [s for s in statements if "web_sessions" in s]

    sign_in_as(app, client, reader_id)
    statements.clear()
    client.get("/me")
    assert len([s for s in statements if "web_sessions" in s]) == 1


def _legacy_cookie_for(app, reader_id):
    client = app.test_client()
    with client.session_transaction() as session:
        session.permanent = True
        session["reader_id"] = reader_id
    return client


def test_a_guest_cookie_from_before_server_sessions_keeps_its_purchases_once(app):
    _, guest_id = _planted_guest(app, title="升级前买的")
    owner = _legacy_cookie_for(app, guest_id)
    with app.app_context():
        db.session.execute(sa.delete(WebSession))  # as before the upgrade: no session rows
        db.session.commit()
    copy = _copy_of(app, owner)

    assert "升级前买的" in owner.get("/library").get_data(as_text=True)
    assert session_reader_id(app, owner) == guest_id
    assert "升级前买的" in owner.get("/library").get_data(as_text=True)
    # A second browser with the same old cookie gets nothing: the first one owns the guest now.
    assert "升级前买的" not in copy.get("/library").get_data(as_text=True)
    assert session_reader_id(app, copy) is None


def test_a_wechat_readers_cookie_from_before_server_sessions_signs_in_again(app):
    with app.app_context():
        reader = factories.reader(openid="o-legacy", nickname="老读者")
        db.session.commit()
        reader_id = reader.id
    old = _legacy_cookie_for(app, reader_id)
    assert "老读者" not in old.get("/me").get_data(as_text=True)
    assert session_reader_id(app, old) is None
