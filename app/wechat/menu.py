"""The Official Account's custom menu.

A 公众号 in developer mode (needed for the shop's message callback) loses the menu set in
WeChat's admin panel, so the shop pushes one. By default: 知识付费 (a click, answered with the
latest items), and 其他菜单 with 关于我们 (the creator's page) and 扫描二维码. WECHAT_MENU in
the configuration, a dict or its JSON, replaces it whole.
"""

import json

from flask import current_app

from app.models import OrderSource
from app.web.public_address import public_url

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


def configured_menu() -> dict:
    """The menu to push: WECHAT_MENU when set, else the default on the shop's address."""
    configured = current_app.config.get("WECHAT_MENU")
    if isinstance(configured, str) and configured.strip():
        return json.loads(configured)
    if isinstance(configured, dict):
        return configured
    base = current_app.config["PUBLIC_BASE_URL"] or None
    with current_app.test_request_context(base_url=base):
        return default_menu(public_url("storefront.about", via=OrderSource.MENU.value))
