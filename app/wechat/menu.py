"""The Official Account's custom menu.

A 公众号 in developer mode (needed for the shop's message callback) loses the menu set in
WeChat's admin panel, so the shop pushes one. By default: 知识付费 (a click, answered with the
latest items), and 其他菜单 with 关于我们 (the creator's page) and 扫描二维码. WECHAT_MENU in
the configuration, a dict or its JSON, replaces it whole.

push(), show() and delete() are the one way to change or read the menu at WeChat: `flask
wechat menu ...` and the studio's 公众号菜单 page both call them. Each returns WeChat's answer
in words for the creator and never raises for what WeChat (or the road to it) does.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass

import requests
from flask import current_app
from wechatpy.exceptions import WeChatClientException

from app.models import OrderSource
from app.web.public_address import public_url
from app.wechat.api_errors import explain
from app.wechat.api_tokens import TokenUnavailable
from app.wechat.official_account import current_client

LATEST_ITEMS_KEY = "kcfk"  # the click the message callback answers with the latest items
SCAN_KEY = "scan_code"


def default_menu(about_url: str) -> dict:
    return {
        "button": [
            {"type": "click", "name": "知识付费", "key": LATEST_ITEMS_KEY},
            {
                "name": "其他菜单",
                "sub_button": [
                    {"type": "view", "name": "关于我们", "url": about_url},
                    {"type": "scancode_push", "name": "扫描二维码", "key": SCAN_KEY},
                ],
            },
        ]
    }


class MenuConfigError(ValueError):
    """WECHAT_MENU is set but is no menu; the message says how."""


def configured_menu() -> dict:
    """The menu to push: WECHAT_MENU when set, else the default on the shop's address."""
    configured = current_app.config.get("WECHAT_MENU")
    if isinstance(configured, str) and configured.strip():
        try:
            configured = json.loads(configured)
        except ValueError as error:
            raise MenuConfigError(f"WECHAT_MENU 不是合法的 JSON：{error}") from None
    if configured:
        if not isinstance(configured, dict) or not isinstance(configured.get("button"), list):
            raise MenuConfigError('WECHAT_MENU 应是形如 {"button": [...]} 的菜单')
        return configured
    return default_menu(public_url("storefront.about", via=OrderSource.MENU.value))


@dataclass(frozen=True)
class MenuAnswer:
    """What came of a menu call: whether it worked, and in words for the creator."""

    ok: bool
    message: str
    menu: dict | None = None  # push: the menu sent; show: the menu WeChat holds (None: none)


def push() -> MenuAnswer:
    """Send the configured menu to WeChat (it replaces the one WeChat holds)."""
    try:
        menu = configured_menu()
    except MenuConfigError as error:
        return MenuAnswer(False, f"菜单没有推送：{error}")
    failed = _ask_wechat("推送菜单", lambda: current_client().menu.create(menu))[1]
    return failed or MenuAnswer(True, "菜单已推送，关注者的微信约 5 分钟内更新。", menu)


def show() -> MenuAnswer:
    """The menu WeChat holds now (menu/get); `menu` is None when it holds none."""
    held, failed = _ask_wechat("查询菜单", lambda: current_client().menu.get())
    if failed:
        return failed
    if held is None:  # wechatpy's reading of WeChat's 46003
        return MenuAnswer(True, "公众号还没有自定义菜单。")
    return MenuAnswer(True, "这是微信上现在的菜单。", held.get("menu", held))


def delete() -> MenuAnswer:
    """Remove the custom menu at WeChat (followers then see none)."""
    failed = _ask_wechat("删除菜单", lambda: current_client().menu.delete())[1]
    return failed or MenuAnswer(True, "菜单已删除，关注者的微信约 5 分钟内更新。")


def same_menu(first: dict | None, second: dict | None) -> bool:
    """Whether two menus have the same buttons. WeChat's menu/get adds an empty sub_button
    list to every plain button, which the menu sent did not need."""
    return first is not None and second is not None and _plain(first) == _plain(second)


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if not (k == "sub_button" and not v)}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _ask_wechat(what: str, call: Callable) -> tuple[object, MenuAnswer | None]:
    """(call's result, None), or (None, the answer that says why there is none)."""
    try:
        return call(), None
    except WeChatClientException as error:
        if error.errcode is None:  # wechatpy's word for an HTTP error status
            status = getattr(error.response, "status_code", "?")
            message = f"{what}失败：微信的服务器出错（HTTP {status}），请稍后再试。"
            return None, MenuAnswer(False, message)
        return None, MenuAnswer(False, f"{what}失败：{explain(error.errcode, error.errmsg)}")
    except (requests.RequestException, TokenUnavailable) as error:
        current_app.logger.warning("%s: WeChat not reached: %r", what, error)
        return None, MenuAnswer(
            False,
            f"{what}失败：连不上微信的服务器（{type(error).__name__}）。"
            "请检查服务器的网络，稍后再试。",
        )
