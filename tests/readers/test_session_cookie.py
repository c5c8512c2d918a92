"""The session cookie's interface: a cookie verified once is remembered, never trusted more
than Flask's own verification would trust it."""

import time

from flask import request, session

from app.accounts import session_cookie


def _cookie_for(app, **content) -> str:
    with app.test_request_context("/"):
        session.update(content)
        return app.session_interface.get_signing_serializer(app).dumps(dict(session))


def _opened(app, cookie: str) -> dict:
    with app.test_request_context("/", headers={"Cookie": f"session={cookie}"}):
        return dict(app.session_interface.open_session(app, request))


def test_a_remembered_cookie_opens_the_same_session_again(app):
    cookie = _cookie_for(app, sid="token-1", wechat_oauth_tried=True)
    assert _opened(app, cookie) == {"sid": "token-1", "wechat_oauth_tried": True}
    assert _opened(app, cookie) == {"sid": "token-1", "wechat_oauth_tried": True}


def test_a_tampered_cookie_opens_nothing_though_the_genuine_one_is_remembered(app):
    cookie = _cookie_for(app, sid="token-1")
    assert _opened(app, cookie)["sid"] == "token-1"
    payload, stamp, signature = cookie.rsplit(".", 2)
    forged = _cookie_for(app, sid="token-2").split(".")[0]
    assert _opened(app, f"{forged}.{stamp}.{signature}") == {}
    # The first character: every one of its bits is the signature's (the last one's lowest
    # bits are base64 padding, so changing A to B there can leave the signature as it was).
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    assert _opened(app, f"{payload}.{stamp}.{flipped}") == {}


def test_a_remembered_cookie_still_expires_on_time(app, monkeypatch):
    cookie = _cookie_for(app, sid="token-1")
    assert _opened(app, cookie)["sid"] == "token-1"
    lifetime = app.permanent_session_lifetime.total_seconds()
    later = time.time() + lifetime + 60
    monkeypatch.setattr(session_cookie.time, "time", lambda: later)
    assert _opened(app, cookie) == {}


def test_what_a_request_changes_never_reaches_the_remembered_session(app):
    cookie = _cookie_for(app, sid="token-1", pending={"state": "abc"})
    with app.test_request_context("/", headers={"Cookie": f"session={cookie}"}):
        first = app.session_interface.open_session(app, request)
        first["pending"]["state"] = "changed"
        first["sid"] = "another"
    assert _opened(app, cookie) == {"sid": "token-1", "pending": {"state": "abc"}}


def test_remembered_cookies_are_bounded(app, monkeypatch):
    monkeypatch.setattr(session_cookie, "REMEMBERED_COOKIES", 3)
    cookies = [_cookie_for(app, sid=f"token-{n}") for n in range(5)]
    for cookie in cookies:
        _opened(app, cookie)
    assert len(app.session_interface._verified) == 3
    assert _opened(app, cookies[0])["sid"] == "token-0"  # verified again, not lost
