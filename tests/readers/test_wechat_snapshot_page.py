"""朋友圈 snapshot pages (快照页): WeChat answers the sign-in with a stand-in (is_snapshotuser=1)
whose openid is nobody's. The browser stays a guest, is told to open the full page, and cannot
buy or tip; the silent sign-in does not ask again.

Played end to end by the sandbox, through wechatpy's real OAuth client.
"""

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Order, Reader
from app.sandbox import oauth as sandbox_oauth
from app.sandbox.models import SandboxUser
from app.wechat.oauth import SCOPE_BASE, SCOPE_USERINFO, WeChatUser, current_oauth
from tests import factories
from tests.conftest import WECHAT_UA, WeChatSignIn, path_of, session_reader_id, sign_in_as
from tests.payflow import csrf_token_in

BANNER = "请轻触屏幕右下角的「使用完整服务」"
REFUSAL = "当前是朋友圈快照页，不能购买或赞赏"


@pytest.fixture
def app(app_factory):
    """A shop that keeps its page cache, as a real one does."""
    return app_factory(PAGE_CACHE_SIZE=64)


def _phone(app):
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = WECHAT_UA
    return client


def _open_as_snapshot_page(phone, path="/"):
    """Open a page inside WeChat, which signs in silently: WeChat answers as a snapshot page."""
    response = phone.get(path)
    assert response.status_code == 302 and "/auth/wechat" in response.location
    authorize = phone.get(path_of(response.location)).location
    callback = WeChatSignIn(phone).decide(authorize, nickname="朋友圈的人", snapshot=True)
    return phone.get(path_of(callback))


def _count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def _sandbox_user(app) -> SandboxUser:
    with app.app_context():
        user = db.session.scalar(sa.select(SandboxUser))
        db.session.expunge(user)
        return user


def test_a_snapshot_page_is_signed_in_as_nobody_and_told_to_open_the_full_page(app, article):
    phone = _phone(app)
    landed = _open_as_snapshot_page(phone, f"/p/{article}")
    assert path_of(landed.location) == f"/p/{article}"

    assert session_reader_id(app, phone) is None
    assert _count(app, Reader) == 0  # neither the stand-in's openid nor the person's is kept
    page = phone.get(f"/p/{article}")
    assert page.status_code == 200  # the silent sign-in does not ask again: no loop
    assert BANNER in page.get_data(as_text=True)
    me = phone.get("/me").get_data(as_text=True)
    assert BANNER in me and 'href="/auth/wechat' not in me  # WeChat would answer the same


def test_a_snapshot_page_cannot_buy_tip_or_claim(app, article):
    with app.app_context():
        free = factories.product(title="免费篇", price_fen=0).slug
        db.session.commit()
    phone = _phone(app)
    _open_as_snapshot_page(phone)
    token = csrf_token_in(phone.get("/sandbox/").get_data(as_text=True))  # the same session

    confirm = phone.get(f"/p/{article}/buy").get_data(as_text=True)
    assert REFUSAL in confirm and "微信授权后支付" not in confirm and "微信支付" not in confirm
    for slug in (article, free):
        refused = phone.post(
            f"/p/{slug}/buy", data={"csrf_token": token, "channel": "native", "price_fen": "1990"}
        )
        assert path_of(refused.location) == f"/p/{slug}"
        assert REFUSAL in phone.get(refused.location).get_data(as_text=True)

    tip_form = phone.get(f"/p/{article}/tip").get_data(as_text=True)
    assert REFUSAL in tip_form and "微信支付赞赏" not in tip_form
    tipped = phone.post(
        f"/p/{article}/tip", data={"csrf_token": token, "preset_fen": "500", "channel": "native"}
    )
    assert tipped.status_code == 403 and REFUSAL in tipped.get_data(as_text=True)

    for path, body in (
        ("/api/orders", {"product": article, "channel": "native"}),
        ("/api/tips", {"target": article, "amount_fen": 500, "channel": "native"}),
    ):
        answer = phone.post(path, json=body)
        assert answer.status_code == 403
        assert answer.get_json()["error"]["code"] == "snapshot_page"

    assert _count(app, Order) == 0
    assert _count(app, Reader) == 0  # no guest was made to hold an order either


def test_a_guest_who_lands_on_a_snapshot_page_keeps_what_they_had_and_merges_nothing(app):
    with app.app_context():
        item = factories.product()
        guest = factories.reader()
        factories.give(guest, item)
        db.session.commit()
        guest_id = guest.id
    phone = _phone(app)
    sign_in_as(app, phone, guest_id)
    _open_as_snapshot_page(phone)

    assert session_reader_id(app, phone) == guest_id
    with app.app_context():
        still = db.session.get(Reader, guest_id)
        assert still.openid is None and still.nickname is None
        assert _count(app, Reader) == 1


def test_the_full_page_signs_the_reader_in_as_themselves(app):
    """Silently too: with the sandbox's snapshot mode on, even snsapi_base answers with a
    stand-in; turned off (the reader tapped 使用完整服务), the real openid comes back."""
    phone = _phone(app)
    token = csrf_token_in(phone.get("/sandbox/").get_data(as_text=True))
    phone.post("/sandbox/users", data={"csrf_token": token, "nickname": "小明"})
    phone.post("/sandbox/snapshot-page", data={"csrf_token": token, "snapshot": "1"})
    assert "快照页模式" in phone.get("/sandbox/").get_data(as_text=True)

    silent = phone.get(path_of(phone.get("/").location))
    callback = phone.get(path_of(silent.location))  # no screen: WeChat knows the phone's user
    assert "code=" in callback.location
    assert phone.get(path_of(callback.location)).status_code == 302
    assert session_reader_id(app, phone) is None and _count(app, Reader) == 0

    phone.post("/sandbox/snapshot-page", data={"csrf_token": token})
    WeChatSignIn(phone).finish(phone.get(path_of(WeChatSignIn(phone).start("/me"))).location)
    reader_id = session_reader_id(app, phone)
    with app.app_context():
        assert db.session.get(Reader, reader_id).openid == _sandbox_user(app).openid
    assert BANNER not in phone.get("/me").get_data(as_text=True)  # a new session: no banner


def test_pages_cached_for_other_wechat_guests_never_reach_a_snapshot_page(app, article):
    other = _phone(app)
    with other.session_transaction() as session:
        session["wechat_oauth_tried"] = True  # a guest who declined the sign-in
    for _ in range(2):  # rendered, then served from the cache
        assert BANNER not in other.get(f"/p/{article}").get_data(as_text=True)

    phone = _phone(app)
    _open_as_snapshot_page(phone)
    for _ in range(2):
        assert BANNER in phone.get(f"/p/{article}").get_data(as_text=True)
    assert BANNER not in other.get(f"/p/{article}").get_data(as_text=True)


# The interface (app/wechat/oauth.py) through wechatpy and the sandbox's protocol.


def _snapshot_code(app, scope):
    with app.app_context():
        user = sandbox_oauth.create_user("小明")
        code = sandbox_oauth.issue_code(user, app.config["WECHAT_APPID"], scope, snapshot=True)
        db.session.commit()
        return user.openid, code


@pytest.mark.parametrize("scope", [SCOPE_BASE, SCOPE_USERINFO])
def test_the_interface_marks_a_snapshot_user_and_keeps_nothing_of_it(app, scope):
    real_openid, code = _snapshot_code(app, scope)
    with app.test_request_context("/", base_url="http://localhost"):
        user = current_oauth().exchange(code, scope)
    assert user.is_snapshot_user and user.openid != real_openid
    assert user == WeChatUser(openid=user.openid, is_snapshot_user=True)


def test_the_sandbox_answers_a_snapshot_grant_as_wechat_does(app, client):
    real_openid, code = _snapshot_code(app, SCOPE_USERINFO)
    appid, secret = app.config["WECHAT_APPID"], app.config["WECHAT_APP_SECRET"]
    token = client.get(
        "/sandbox/api/sns/oauth2/access_token",
        query_string={
            "appid": appid,
            "secret": secret,
            "code": code,
            "grant_type": "authorization_code",
        },
    ).get_json()
    assert token["is_snapshotuser"] == 1 and token["openid"] != real_openid
    info = client.get(
        "/sandbox/api/sns/userinfo",
        query_string={"access_token": token["access_token"], "openid": token["openid"]},
    ).get_json()
    assert (
        info["nickname"] == "微信用户"
        and "POgEwh4mIHO4nibH0KlMECNjjGxQUq24" in (info["headimgurl"])
    )
    refused = client.get(
        "/sandbox/api/sns/userinfo",
        query_string={"access_token": token["access_token"], "openid": real_openid},
    ).get_json()
    assert refused["errcode"] == 40003
