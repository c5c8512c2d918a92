"""我的 on a 390 px phone inside WeChat: a reader WeChat does not describe sets a name and a
picture, and sees both at once; a refused name is explained beside its field."""

import io
import re

try:
    from playwright.sync_api import expect
except ImportError:  # conftest skips these tests (or fails them under REQUIRE_BROWSER=1)
    expect = None

from PIL import Image

from tests.e2e.conftest import assert_fits_phone, sign_in_in_wechat


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (800, 600), "#0f766e").save(buffer, "PNG")
    return buffer.getvalue()


def test_a_reader_names_themselves_on_my_page(phone, screenshot):
    page = phone.new_page()
    sign_in_in_wechat(page, "还没名字的人")
    page.goto("/me")
    expect(page.locator("[data-profile-name]")).to_have_text(re.compile(r"^微信读者\d+$"))

    page.get_by_role("link", name="设置昵称和头像").click()
    page.wait_for_url("**/me/profile")
    page.get_by_label("昵称").fill("微信用户")
    page.get_by_role("button", name="保存昵称").click()
    expect(page.get_by_role("alert")).to_have_text("「微信用户」是微信的默认名，请换一个")
    assert_fits_phone(page)

    page.get_by_label("昵称").fill("  晨读的小林 ")
    page.get_by_role("button", name="保存昵称").click()
    page.wait_for_url("**/me")
    expect(page.locator("[data-profile-name]")).to_have_text("晨读的小林")

    page.get_by_role("link", name="设置昵称和头像").click()
    page.get_by_label(re.compile("^头像")).set_input_files(
        {"name": "me.png", "mimeType": "image/png", "buffer": _png()}
    )
    page.get_by_role("button", name="上传头像").click()
    page.wait_for_url("**/me")
    avatar = page.locator(".profile-card img.avatar")
    expect(avatar).to_have_attribute("src", re.compile(r"^/media/avatars/\d+-[0-9a-f]{10}\.jpg$"))
    assert avatar.evaluate("img => img.complete && img.naturalWidth") == 256
    assert_fits_phone(page)
    screenshot(page, "phone-me-profile")
