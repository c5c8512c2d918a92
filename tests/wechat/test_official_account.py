"""The Official Account's server API through wechatpy's real WeChatClient, against the
sandbox: one access token for every process, refreshed before it expires and after WeChat
refuses it; the custom menu pushed, shown and deleted from the shell."""

import json
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from wechatpy import WeChatClient
from wechatpy.client.api import WeChatJSAPI
from wechatpy.exceptions import WeChatClientException

from app.extensions import db
from app.models import WeChatApiToken
from app.models.base import utcnow
from app.sandbox import official_account as sandbox_oa
from app.wechat import api_tokens
from app.wechat.menu import default_menu
from app.wechat.official_account import ShopWeChatClient

DATA = Path(__file__).resolve().parents[1] / "data"


def _token(app) -> str:
    with app.app_context():
        return ShopWeChatClient(app).access_token


def _issued(app) -> int:
    with app.app_context():
        return sandbox_oa.tokens_issued()


def _stored(app, **values) -> None:
    with app.app_context():
        db.session.execute(sa.update(WeChatApiToken).values(**values))
        db.session.commit()


def test_a_token_is_refreshed_before_it_expires(app):
    old = _token(app)
    _stored(app, expires_at=utcnow() + api_tokens.REFRESH_BEFORE - timedelta(seconds=1))
    new = _token(app)
    assert new != old and _issued(app) == 2
    assert _token(app) == new  # and kept


def test_while_another_process_refreshes_the_current_token_is_used(app):
    current = _token(app)
    _stored(
        app,
        expires_at=utcnow() + timedelta(minutes=2),  # due, still valid
        refreshing_until=utcnow() + timedelta(seconds=10),
    )
    assert _token(app) == current and _issued(app) == 1


def test_a_token_wechat_refuses_is_replaced_and_the_call_retried(app):
    old = _token(app)
    with app.app_context():
        sandbox_oa.revoke_tokens()  # WeChat retired it (another fetch, a changed AppSecret)
        db.session.commit()
        client = ShopWeChatClient(app)
        client.menu.create(default_menu("https://shop.example.com/about"))
        assert json.loads(sandbox_oa.pushed_menu_body())["button"][0]["key"] == "kcfk"
    assert _token(app) != old and _issued(app) == 2


def test_a_refused_fetch_leaves_no_lease_behind(app):
    with app.app_context():
        client = ShopWeChatClient(app)
        client.secret = "not-the-account-secret"
        with pytest.raises(WeChatClientException) as refused:
            _ = client.access_token
        assert refused.value.errcode == 40001
        row = db.session.get(WeChatApiToken, f"{app.config['WECHAT_APPID']}_access_token")
        assert row.refreshing_until is None and row.value is None


def test_the_jsapi_ticket_is_kept_for_every_process_too(app_factory, monkeypatch):
    first, second = app_factory(), app_factory()
    asked = []
    real_get_ticket = WeChatJSAPI.get_ticket

    def counted(self, type="jsapi"):
        asked.append(type)
        return real_get_ticket(self, type)

    monkeypatch.setattr(WeChatJSAPI, "get_ticket", counted)
    with first.app_context():
        ticket = ShopWeChatClient(first).jsapi_ticket()
    with second.app_context():
        assert ShopWeChatClient(second).jsapi_ticket() == ticket
    assert asked == ["jsapi"]


def test_the_jsapi_signature_matches_wechats_example():
    """WeChat's JS-SDK documentation's example (noncestr, ticket, timestamp, url)."""
    example = json.loads((DATA / "jssdk-signature.json").read_text())
    client = WeChatClient("wx0000000000000000", "secret")
    for case in example["cases"]:
        signed = client.jsapi.get_jsapi_signature(
            example["noncestr"], example["jsapi_ticket"], example["timestamp"], case["url"]
        )
        assert signed == case["signature"]


# --- the menu -------------------------------------------------------------------------------


def _run(app, *args, **kwargs):
    result = app.test_cli_runner().invoke(args=list(args), **kwargs)
    assert result.exit_code == 0, result.output
    return result.output


def test_the_default_menu_goes_out_exactly_as_wechat_expects(app):
    output = _run(app, "wechat", "menu", "push")
    with app.app_context():
        body = sandbox_oa.pushed_menu_body()
    assert "知识付费".encode() in body and b"\\u" not in body  # UTF-8, not \u escapes
    assert json.loads(body) == {
        "button": [
            {"type": "click", "name": "知识付费", "key": "kcfk"},
            {
                "name": "其他菜单",
                "sub_button": [
                    {"type": "view", "name": "关于我们", "url": "http://localhost/about?via=menu"},
                    {"type": "scancode_push", "name": "扫描二维码", "key": "scan_code"},
                ],
            },
        ]
    }
    assert "菜单已推送" in output


def test_the_menu_is_on_the_shops_public_address(app_factory):
    app = app_factory(PUBLIC_BASE_URL="https://shop.example.com")
    _run(app, "wechat", "menu", "push")
    with app.app_context():
        menu = json.loads(sandbox_oa.pushed_menu_body())
    assert menu["button"][1]["sub_button"][0]["url"] == "https://shop.example.com/about?via=menu"


def test_a_configured_menu_replaces_the_default(app_factory):
    mine = {"button": [{"type": "view", "name": "小店", "url": "https://shop.example.com/"}]}
    app = app_factory(WECHAT_MENU=json.dumps(mine, ensure_ascii=False))
    _run(app, "wechat", "menu", "push")
    with app.app_context():
        assert json.loads(sandbox_oa.pushed_menu_body()) == mine


def test_show_and_delete(app):
    assert "还没有自定义菜单" in _run(app, "wechat", "menu", "show")
    _run(app, "wechat", "menu", "push")
    assert '"name": "知识付费"' in _run(app, "wechat", "menu", "show")
    assert "菜单已删除" in _run(app, "wechat", "menu", "delete", "--yes")
    assert "还没有自定义菜单" in _run(app, "wechat", "menu", "show")


@pytest.mark.parametrize(
    ("menu", "errcode"),
    [
        ({"button": [{"type": "click", "name": f"按钮{n}", "key": "k"} for n in range(4)]}, 40016),
        ({"button": [{"type": "click", "name": "一个太长的按钮名字", "key": "k"}]}, 40018),
        ({"button": [{"type": "click", "name": "按钮"}]}, 40019),
        ({"button": [{"type": "nonsense", "name": "按钮", "key": "k"}]}, 40017),
        (
            {"button": [{"name": "子菜单", "sub_button": [{"type": "view", "name": "x"}] * 6}]},
            40023,
        ),
    ],
)
def test_the_sandbox_refuses_a_menu_wechat_would(app, menu, errcode):
    with app.app_context(), pytest.raises(WeChatClientException) as refused:
        ShopWeChatClient(app).menu.create(menu)
    assert refused.value.errcode == errcode
