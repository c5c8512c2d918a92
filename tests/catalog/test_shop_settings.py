"""Settings rules that need no app: profile cleaning and the WeChat status."""

import pytest

from app.catalog.shop_settings import (
    ProfileInput,
    ProfileRefused,
    ShopUrls,
    check_profile,
    wechat_status,
)

URLS = ShopUrls(
    payment_notify="https://shop.example.com/pay/wechat/notify",
    refund_notify="https://shop.example.com/pay/wechat/refund-notify",
    oauth_callback="https://shop.example.com/auth/wechat/callback",
    pay_directory="https://shop.example.com/orders/",
)
CONFIG = {
    "WECHAT_SANDBOX": False,
    "WECHAT_APPID": "wx1234567890abcdef",
    "WECHAT_APP_SECRET": "the-app-secret",
    "WECHAT_MCH_ID": "1612345678",
    "WECHAT_PAY_API_KEY": "the-pay-api-key",
    "WECHAT_PAY_CERT_PATH": "",
    "WECHAT_PAY_KEY_PATH": "/etc/shop/apiclient_key.pem",
    "PUBLIC_BASE_URL": "https://shop.example.com",
}


def test_no_secret_is_anywhere_in_the_status():
    status = wechat_status(CONFIG, URLS)
    text = repr(status)
    assert "the-app-secret" not in text and "the-pay-api-key" not in text
    assert "/etc/shop" not in text
    shown = {item.key: item.shown for item in status.items}
    assert shown["WECHAT_APPID"] == "wx1234567890abcdef"
    assert shown["WECHAT_MCH_ID"] == "1612345678"
    assert shown["WECHAT_APP_SECRET"] is None and shown["WECHAT_PAY_API_KEY"] is None
    assert status.oauth_domain == "shop.example.com"


def test_nothing_set_is_nothing_done():
    empty = dict.fromkeys(CONFIG, "") | {"WECHAT_SANDBOX": True}
    status = wechat_status(empty, URLS)
    assert not any(item.is_set for item in status.items)
    assert not any(step.done for step in status.checklist)


def test_profile_fields_are_cleaned_and_every_error_is_named():
    cleaned = check_profile(ProfileInput(" 小\u200b店 ", "a\n b", "", "# 标题\r\n\r\n正文\r\n"))
    assert cleaned == ProfileInput("小店", "a b", "", "# 标题\n\n正文")
    with pytest.raises(ProfileRefused) as refused:
        check_profile(ProfileInput("", "x" * 121, "y" * 41, ""))
    assert set(refused.value.errors) == {"name", "tagline", "creator_name"}
