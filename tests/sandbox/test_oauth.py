"""The sandbox answers wechatpy as WeChat does, errors included (docs/wechat-protocol.md §8)."""

import re

import pytest
from flask import current_app
from wechatpy.exceptions import WeChatOAuthException

from app import create_app
from app.extensions import db
from app.sandbox import oauth as sandbox_oauth
from app.wechat.wechatpy_oauth import WechatpyOAuth


def oauth_client(redirect_uri, scope="snsapi_base"):
    """The shop's own wechatpy client, pointed at the sandbox as sign-in points it."""
    return WechatpyOAuth(current_app._get_current_object()).client(redirect_uri, scope)


@pytest.fixture
def issue(app):
    """Issue a code for a new sandbox user, as the authorize screen would."""

    def _issue(scope="snsapi_base"):
        user = sandbox_oauth.create_user("测试")
        code = sandbox_oauth.issue_code(user, app.config["WECHAT_APPID"], scope)
        db.session.commit()
        return user, code

    return _issue


@pytest.fixture
def request_ctx(app):
    with app.test_request_context("/", base_url="http://localhost"):
        yield


def test_code_buys_tokens_once(app, request_ctx, issue):
    user, code = issue()
    token = oauth_client("http://localhost/cb").fetch_access_token(code)
    assert token["openid"] == user.openid
    assert token["expires_in"] == 7200
    assert {"access_token", "refresh_token", "scope"} <= token.keys()

    with pytest.raises(WeChatOAuthException) as replay:
        oauth_client("http://localhost/cb").fetch_access_token(code)
    assert replay.value.errcode == 40163


def test_unknown_code_is_40029(request_ctx):
    with pytest.raises(WeChatOAuthException) as error:
        oauth_client("http://localhost/cb").fetch_access_token("nope")
    assert error.value.errcode == 40029


def test_wrong_secret_is_refused(app, request_ctx, issue):
    _, code = issue()
    client = oauth_client("http://localhost/cb")
    client.secret = "wrong"
    with pytest.raises(WeChatOAuthException) as error:
        client.fetch_access_token(code)
    assert error.value.errcode == 40125


def test_userinfo_needs_the_userinfo_scope(request_ctx, issue):
    _, base_code = issue("snsapi_base")
    client = oauth_client("http://localhost/cb")
    client.fetch_access_token(base_code)
    with pytest.raises(WeChatOAuthException) as error:
        client.get_user_info()
    assert error.value.errcode == 48001

    user, info_code = issue("snsapi_userinfo")
    client = oauth_client("http://localhost/cb", "snsapi_userinfo")
    client.fetch_access_token(info_code)
    info = client.get_user_info()
    assert info["nickname"] == "测试" and info["openid"] == user.openid


def test_refresh_and_check_token(request_ctx, issue):
    _, code = issue()
    client = oauth_client("http://localhost/cb")
    first = client.fetch_access_token(code)
    refreshed = client.refresh_access_token(first["refresh_token"])
    assert refreshed["access_token"] != first["access_token"]
    openid = first["openid"]
    assert client.check_access_token(openid=openid, access_token=refreshed["access_token"])
    with pytest.raises(WeChatOAuthException):
        client.check_access_token(openid=openid, access_token=first["access_token"])


def test_authorize_refuses_a_foreign_appid_and_callback_domain(app, client):
    base = {
        "appid": app.config["WECHAT_APPID"],
        "redirect_uri": "http://localhost/auth/wechat/callback",
        "response_type": "code",
        "scope": "snsapi_base",
        "state": "abc",
    }
    url = "/sandbox/open/connect/oauth2/authorize"
    assert client.get(url, query_string=base).status_code == 200
    assert client.get(url, query_string={**base, "appid": "wxother"}).status_code == 400
    other_domain = {**base, "redirect_uri": "http://evil.example/cb"}
    response = client.get(url, query_string=other_domain)
    assert response.status_code == 400
    assert "10003" in response.get_data(as_text=True)
    assert client.get(url, query_string={**base, "scope": "snsapi_login"}).status_code == 400


def test_the_sandbox_is_absent_with_real_credentials(tmp_path):
    live = create_app(
        {
            "SECRET_KEY": "x",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}",
            "WECHAT_APPID": "wx1234567890abcdef",
            "WECHAT_APP_SECRET": "real-secret",
            "WECHAT_MCH_ID": "1612345678",
            "WECHAT_PAY_API_KEY": "livepaykey0123456789abcdefABCDEF",
            "PUBLIC_BASE_URL": "https://shop.example.com",
        },
        instance_path=str(tmp_path),
    )
    with live.app_context():
        db.create_all()
    assert live.config["WECHAT_SANDBOX"] is False
    assert "sandbox" not in live.blueprints
    assert live.test_client().get("/sandbox/").status_code == 404


@pytest.mark.parametrize(
    ("redirect_uri", "message"),
    [
        ("javascript://localhost/%0Aalert(document.cookie)", "redirect_uri 参数错误"),
        ("javascript:alert(1)", "redirect_uri 参数错误"),
        ("//localhost/auth/wechat/callback", "redirect_uri 参数错误"),
        ("/auth/wechat/callback", "redirect_uri 参数错误"),
        ("ftp://localhost/cb", "redirect_uri 参数错误"),
        ("http://localhost\\@evil.example/cb", "redirect_uri 参数错误"),
        ("http://local\nhost/cb", "redirect_uri 参数错误"),
        ("http://[::1/cb", "redirect_uri 参数错误"),
        ("http://evil.example/cb", "10003"),
        ("https://localhost.evil.example/cb", "10003"),
        ("http://evil.example@localhost.evil.example/cb", "10003"),
        ("http://user@localhost/cb", "10003"),
    ],
)
def test_authorize_sends_codes_only_to_the_shop_over_http(app, client, redirect_uri, message):
    query = {
        "appid": app.config["WECHAT_APPID"],
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "scope": "snsapi_base",
        "state": "abc",
    }
    response = client.get("/sandbox/open/connect/oauth2/authorize", query_string=query)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert sandbox_oauth.all_users() == []


@pytest.mark.parametrize(
    "callback", ["http://localhost/auth/wechat/callback", "https://LOCALHOST/cb?x=1"]
)
def test_authorize_accepts_the_shops_own_callbacks(app, client, callback):
    query = {
        "appid": app.config["WECHAT_APPID"],
        "redirect_uri": callback,
        "response_type": "code",
        "scope": "snsapi_base",
        "state": "abc",
    }
    response = client.get("/sandbox/open/connect/oauth2/authorize", query_string=query)
    assert response.status_code == 200


def _csrf_token(client) -> str:
    page = client.get("/sandbox/").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "javascript:alert(1)",
        "/\\evil.example",
        "",
    ],
)
def test_a_new_sandbox_user_goes_back_only_to_a_path_on_the_shop(client, target):
    form = {"csrf_token": _csrf_token(client), "nickname": "小红", "next": target}
    response = client.post("/sandbox/users", data=form)
    assert response.status_code == 302
    assert response.headers["Location"] == "/sandbox/"


def test_a_new_sandbox_user_goes_back_to_the_page_that_asked(client):
    form = {"csrf_token": _csrf_token(client), "nickname": "小红", "next": "/p/some-item?x=1"}
    response = client.post("/sandbox/users", data=form)
    assert response.headers["Location"] == "/p/some-item?x=1"
