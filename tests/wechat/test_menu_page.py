"""The studio's 公众号菜单 page against the sandbox: the creator's only; the menu the shop would
push next to the one WeChat holds; push and delete reported in WeChat's words and ours; what
WeChat refuses, and a WeChat that cannot be reached, said plainly instead of an error page.
The page and `flask wechat menu` go through the same functions."""

import json
import re

import pytest

from app.extensions import db
from app.readers.creators import create_creator
from app.sandbox import official_account as sandbox_oa
from app.wechat import api_errors
from app.wechat import menu as oa_menu
from tests import factories
from tests.conftest import creator_client, sign_in_as
from tests.payflow import csrf_token_in

PAGE = "/studio/wechat/menu"
UNREACHABLE = "http://127.0.0.1:9"  # the discard port: nothing listens, the connection is refused
FOUR_BUTTONS = {"button": [{"type": "click", "name": f"按钮{n}", "key": f"k{n}"} for n in range(4)]}


def _pushed(app) -> dict | None:
    with app.app_context():
        body = sandbox_oa.pushed_menu_body()
    return json.loads(body) if body is not None else None


def _press(studio, action: str):
    """Press 推送到微信 or 确定删除 on the page; returns the page the redirect lands on."""
    token = csrf_token_in(studio.get(PAGE).get_data(as_text=True))
    response = studio.post(f"{PAGE}/{action}", data={"csrf_token": token})
    assert response.status_code == 302 and response.location.endswith(PAGE)
    return studio.get(PAGE).get_data(as_text=True)


def _flashes(page: str) -> list[tuple[str, str]]:
    return re.findall(r'<p class="flash flash-(\w+)">([^<]*)</p>', page)


def test_only_the_creator_sees_the_page(app, client):
    assert client.get(PAGE).status_code == 302  # to the creator login
    assert "/creator/login" in client.get(PAGE).location
    assert client.post(f"{PAGE}/push").status_code in (302, 400)
    with app.app_context():
        reader = factories.reader()
        db.session.commit()
        reader_id = reader.id
    sign_in_as(app, client, reader_id)  # a reader signed in with WeChat is no creator
    assert "/creator/login" in client.get(PAGE).location
    assert _pushed(app) is None


def test_the_nav_and_the_settings_lead_to_it(studio):
    assert f'href="{PAGE}"' in studio.get("/studio/settings").get_data(as_text=True)
    page = studio.get(PAGE).get_data(as_text=True)
    assert re.search(rf'<a href="{PAGE}" class="active">公众号</a>', page)


def test_before_any_push_the_page_shows_the_default_menu_and_none_at_wechat(studio):
    page = studio.get(PAGE).get_data(as_text=True)
    planned = page[page.index('data-menu-preview="planned"') : page.index('id="held"')]
    assert "知识付费" in planned and "其他菜单" in planned and "扫描二维码" in planned
    assert "key kcfk" in planned and "http://localhost/about?via=menu" in planned
    assert "data-held-none" in page and "公众号还没有自定义菜单" in page
    assert "data-callback-off" not in page  # the sandbox's Token is set


def test_push_sends_the_menu_and_the_page_shows_what_wechat_holds(app, studio):
    page = _press(studio, "push")
    assert ("info", "菜单已推送，关注者的微信约 5 分钟内更新。") in _flashes(page)
    with app.app_context():
        assert _pushed(app) == oa_menu.configured_menu()
    held = page[page.index('id="held"') :]
    assert 'data-menu-preview="held"' in held and "data-in-step" in held
    assert "关于我们" in held and "key scan_code" in held


def test_a_menu_changed_since_the_push_is_shown_as_different(app, studio):
    _press(studio, "push")
    app.config["WECHAT_MENU"] = {"button": [{"type": "click", "name": "新菜单", "key": "new"}]}
    page = studio.get(PAGE).get_data(as_text=True)
    assert "data-out-of-step" in page and "新菜单" in page and "知识付费" in page


def test_delete_removes_the_menu_at_wechat(app, studio):
    _press(studio, "push")
    page = _press(studio, "delete")
    assert ("info", "菜单已删除，关注者的微信约 5 分钟内更新。") in _flashes(page)
    assert _pushed(app) is None and "data-held-none" in page


def test_a_menu_wechat_refuses_is_explained(app_factory):
    app = app_factory(WECHAT_MENU=FOUR_BUTTONS)
    page = _press(creator_client(app), "push")
    [(category, message)] = _flashes(page)
    assert category == "error"
    assert "40016（invalid button size）" in message and "应为 1 到 3 个" in message
    assert _pushed(app) is None


def test_a_configured_menu_that_is_no_json_is_said_so(app_factory):
    app = app_factory(WECHAT_MENU='{"button": [')
    studio = creator_client(app)
    page = studio.get(PAGE).get_data(as_text=True)
    assert "data-planned-problem" in page and "WECHAT_MENU 不是合法的 JSON" in page
    assert "推送到微信</button>" not in page
    token = csrf_token_in(page)
    studio.post(f"{PAGE}/push", data={"csrf_token": token})
    [(category, message)] = _flashes(studio.get(PAGE).get_data(as_text=True))
    assert category == "error" and "菜单没有推送" in message and _pushed(app) is None


def test_a_wechat_that_cannot_be_reached_is_said_so(app_factory):
    app = app_factory(WECHAT_API_BASE_URL=UNREACHABLE)
    studio = creator_client(app)
    page = studio.get(PAGE)
    assert page.status_code == 200
    assert "data-held-problem" in page.get_data(as_text=True)
    assert "查询菜单失败：连不上微信的服务器" in page.get_data(as_text=True)
    [(category, message)] = _flashes(_press(studio, "push"))
    assert category == "error" and message.startswith("推送菜单失败：连不上微信的服务器")


def test_a_live_shop_without_a_token_is_warned_that_clicks_go_unanswered(app_factory):
    app = app_factory(
        WECHAT_SANDBOX=False,
        WECHAT_APPID="wx1234567890abcdef",
        WECHAT_APP_SECRET="app-secret-9f8e7d6c5b4a",
        WECHAT_MCH_ID="1612345678",
        WECHAT_PAY_API_KEY="livepaykey0123456789abcdefABCDEF",
        PUBLIC_BASE_URL="https://shop.example.com",
        WECHAT_API_BASE_URL=UNREACHABLE,  # never the real WeChat from a test
    )
    with app.app_context():
        create_creator("creator", "correct horse battery")
        db.session.commit()
    studio = app.test_client()
    studio.environ_base["HTTP_REFERER"] = "https://shop.example.com/"
    login = studio.get("/creator/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login).group(1)
    studio.post(
        "/creator/login",
        data={"username": "creator", "password": "correct horse battery", "csrf_token": token},
    )
    page = studio.get(PAGE).get_data(as_text=True)
    assert "data-callback-off" in page and "WECHAT_TOKEN" in page
    assert "https://shop.example.com/about?via=menu" in page  # the menu links to the public address
    assert "连不上微信的服务器" in page
    assert "扮演粉丝" not in page  # no sandbox to try it in


def test_a_post_without_the_csrf_token_changes_nothing(app, studio):
    assert studio.post(f"{PAGE}/push").status_code == 400
    assert _pushed(app) is None


def test_the_page_and_the_command_push_through_one_function(app, studio, monkeypatch):
    calls = []
    real_push = oa_menu.push

    def recorded():
        calls.append("push")
        return real_push()

    monkeypatch.setattr(oa_menu, "push", recorded)
    _press(studio, "push")
    result = app.test_cli_runner().invoke(args=["wechat", "menu", "push"])
    assert result.exit_code == 0 and calls == ["push", "push"]
    assert _pushed(app)["button"][0]["key"] == "kcfk"


@pytest.mark.parametrize(
    ("command", "on_the_page", "args"),
    [
        ("show", lambda studio: studio.get(PAGE), []),
        ("delete", lambda studio: _press(studio, "delete"), ["--yes"]),
    ],
)
def test_show_and_delete_are_shared_too(app, studio, monkeypatch, command, on_the_page, args):
    calls = []
    real = getattr(oa_menu, command)
    monkeypatch.setattr(oa_menu, command, lambda: calls.append(command) or real())
    on_the_page(studio)
    result = app.test_cli_runner().invoke(args=["wechat", "menu", command, *args])
    assert result.exit_code == 0 and calls == [command, command]


def test_the_command_fails_with_wechats_answer(app_factory):
    app = app_factory(WECHAT_MENU=json.dumps(FOUR_BUTTONS))
    result = app.test_cli_runner().invoke(args=["wechat", "menu", "push"])
    assert result.exit_code == 1 and "40016" in result.output and "应为 1 到 3 个" in result.output


@pytest.mark.parametrize(
    ("errcode", "errmsg", "words"),
    [
        (48001, "api unauthorized", "没有这个接口的权限"),
        (40164, "invalid ip 1.2.3.4, not in whitelist", "IP白名单"),
        (40018, "invalid button name size", "4 个汉字"),
        (40023, "invalid sub button size", "1 到 5 个"),
        (99999, "something new", None),
    ],
)
def test_errcodes_are_explained_in_chinese(errcode, errmsg, words):
    said = api_errors.explain(errcode, errmsg)
    assert said.startswith(f"微信返回 {errcode}（{errmsg}）")
    if words:
        assert words in said
