"""赞赏 in a real browser, paid through the built-in WeChat sandbox like any purchase: a
desktop tips an item by QR (paid from a phone), a reader inside WeChat tips the creator with
the JSAPI sheet, a phone browser tips through the H5 cashier; the form refuses bad amounts
and keeps what was typed; the form, the thank-you page and a wall with long words fit a
390 px phone.

Each test tips a different demo item (the creator's /about wall shows every tip in the shop,
so it is only compared before and after), and every payer is a new sandbox WeChat user: a
tip never grants anything, so test_browse.py and test_pay.py see the demo shop unchanged.
"""

import re

try:
    from playwright.sync_api import expect
except ImportError:  # conftest skips these tests (or fails them under REQUIRE_BROWSER=1)
    expect = None

from app.demo import content
from app.models.shop import DEFAULT_TIP_THANKS
from app.money import format_fen
from tests.e2e.conftest import (
    ORDER_URL,
    PAID_WITHIN_MS,
    PAYEE,
    assert_fits_phone,
    assert_on_screen,
    decode_qr,
    sign_in_in_wechat,
)

CREATOR = content.SHOP["creator_name"]


def _product(slug: str) -> dict:
    return next(p for p in content.PRODUCTS if p["slug"] == slug)


NATIVE_ITEM = _product("writing-clear-course")
H5_ITEM = _product("weekly-review-kit")  # free: free items take tips too
FORM_ITEM = _product("indie-notes-column")  # only ever refused, never paid
LONG_WALL_ITEM = _product("career-letters")


def test_demo_content_still_matches_these_tests():
    items = (NATIVE_ITEM, H5_ITEM, FORM_ITEM, LONG_WALL_ITEM)
    assert all(item["status"] == "published" for item in items)
    assert len({item["slug"] for item in items}) == len(items)  # one wall per test
    assert H5_ITEM["price_fen"] == 0
    assert LONG_WALL_ITEM["sections"][0]["is_free"]  # its first lesson shows the wall too


# --- small helpers -----------------------------------------------------------------------------


def _open_tip_form(page, item: dict) -> None:
    """The item's page → 赞赏 in its wall block → the form."""
    page.goto(f"/p/{item['slug']}")
    page.locator("#tips").get_by_role("link", name="赞赏", exact=True).click()
    page.wait_for_url(f"**/p/{item['slug']}/tip")
    expect(page.get_by_role("heading", name=f"赞赏{CREATOR}")).to_be_visible()
    expect(page.locator(".tip-for")).to_have_text(f"为《{item['title']}》")


def _preset(page, fen: int):
    return page.get_by_label(format_fen(fen), exact=True)


def _custom(page):
    return page.get_by_label("其他金额（元）")


def _message(page):
    return page.get_by_label("留言（选填）")


def _name(page):
    return page.get_by_label("署名（选填）")


def _anonymous(page):
    return page.get_by_label("匿名赞赏（不显示头像和昵称）")


def _checked_presets(page):
    return page.locator("input[name=preset_fen]:checked")


def _submit(page, button: str) -> int:
    """Send the form with this button; returns the HTTP status of the POST's answer."""
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name=button, exact=True).click()
    return answer.value.status


def _pay_on_sandbox_cashier(page, amount_fen: int, title: str, nickname: str) -> None:
    """The sandbox's 微信支付 page (a Native scan or H5): check the tip, pay as a new user."""
    expect(page.locator(".wx-pay-payee")).to_have_text(PAYEE)
    expect(page.locator(".wx-pay-amount")).to_have_text(format_fen(amount_fen))
    expect(page.locator(".wx-pay-lines")).to_contain_text(title)
    assert_fits_phone(page)
    page.get_by_label("或新建测试用户").fill(nickname)
    page.get_by_role("button", name="支付", exact=True).click()


def _scan_and_pay(phone_page, code_url: str, amount_fen: int, title: str, nickname: str):
    phone_page.goto(code_url)
    _pay_on_sandbox_cashier(phone_page, amount_fen, title, nickname)
    expect(phone_page.locator(".wx-result-message")).to_have_text("支付成功")


def _expect_native_pay_page(page, amount_fen: int, title: str) -> None:
    page.wait_for_url(ORDER_URL)
    expect(page.get_by_role("heading", name="微信扫码支付")).to_be_visible()
    expect(page.locator(".pay-amount")).to_have_text(format_fen(amount_fen))
    expect(page.locator(".order-title")).to_have_text(title)
    page.wait_for_function("document.querySelector('img[data-qr]').naturalWidth > 0")


def _expect_thanks(page, amount_fen: int, share_path: str, back: str) -> None:
    """The thank-you page; the pay page's 2-second poll (or the cashier) brings us here."""
    heading = page.get_by_role("heading", name="感谢你的赞赏")
    expect(heading).to_be_visible(timeout=PAID_WITHIN_MS)
    expect(page.locator(".tip-amount")).to_have_text(format_fen(amount_fen))
    note = page.locator(".thanks-note")
    expect(note).to_contain_text(DEFAULT_TIP_THANKS)
    expect(note).to_contain_text(f"—— {CREATOR}")
    expect(page.get_by_label("分享链接")).to_have_value(re.compile(re.escape(share_path) + "$"))
    # Where the browser has a system share sheet the button opens it, elsewhere it copies.
    has_share_sheet = page.evaluate("'share' in navigator")
    expect(page.locator("[data-copy]")).to_have_text("分享" if has_share_sheet else "复制链接")
    expect(page.get_by_role("link", name=back)).to_be_visible()


def _supporter_count(page) -> int:
    """The wall's "N 人赞赏" (0 while nobody has tipped)."""
    count = page.locator("#tips [data-supporter-count]")
    return int(count.get_attribute("data-supporter-count")) if count.count() else 0


def _newest_supporter(page):
    return page.locator("#tips .supporter").first


# --- 1. Native: a desktop tips an item by QR, a phone pays -------------------------------------


def test_desktop_tip_by_qr_paid_by_a_phone_then_on_the_wall(desktop, phone, screenshot):
    item, amount = NATIVE_ITEM, 1000
    title = f"赞赏《{item['title']}》"
    message, name = "第三课的例子，让我把周报从两页删到了半页", "桌面读者小林"

    page = desktop.new_page()
    page.goto(f"/p/{item['slug']}")
    expect(page.locator("#tips")).to_contain_text("还没有人赞赏，来做第一个吧")
    _open_tip_form(page, item)
    expect(_preset(page, 500)).to_be_checked()  # one tap pays a sensible amount
    _preset(page, amount).check()
    _message(page).fill(message)
    _name(page).fill(name)
    screenshot(page, "tip-desktop-form")

    assert _submit(page, "微信扫码赞赏") == 302
    _expect_native_pay_page(page, amount, title)
    screenshot(page, "tip-desktop-native")

    _scan_and_pay(phone.new_page(), decode_qr(page), amount, title, "扫码的朋友")
    # No click on the desktop: its poll notices the payment and shows the thanks.
    _expect_thanks(page, amount, f"/p/{item['slug']}", back="返回")
    screenshot(page, "tip-desktop-thanks")

    # Desktop Chromium has no share sheet: 复制链接 puts the item's address on the clipboard.
    desktop.grant_permissions(["clipboard-read", "clipboard-write"])
    share_url = page.get_by_label("分享链接").input_value()
    page.get_by_role("button", name="复制链接").click()
    expect(page.locator("[data-copy-status]")).to_have_text("链接已复制")
    assert page.evaluate("navigator.clipboard.readText()") == share_url

    page.get_by_role("link", name="返回", exact=True).click()
    page.wait_for_url(f"**/p/{item['slug']}")
    wall = page.locator("#tips")
    expect(wall.locator(".tip-count")).to_have_text("1 人赞赏")
    newest = _newest_supporter(page)
    expect(newest.locator(".supporter-name")).to_have_text(name)
    expect(newest.locator(".supporter-amount")).to_have_text(format_fen(amount))
    expect(newest.locator(".supporter-message")).to_have_text(message)
    wall.scroll_into_view_if_needed()
    screenshot(page, "tip-desktop-wall")


# --- 2. JSAPI: inside WeChat, a custom amount for the creator ----------------------------------


def test_wechat_tip_for_the_creator_with_a_custom_amount(phone, screenshot):
    amount, title = 666, f"赞赏{CREATOR}"
    nickname = "微信里的老读者"
    message = "每周复盘的五个问题我用了半年，请你喝咖啡"

    page = phone.new_page()
    sign_in_in_wechat(page, nickname)
    page.goto("/about")
    expect(page.locator("#tips .tip-heading")).to_have_text(f"喜欢{CREATOR}的作品？请作者喝杯咖啡")
    before = _supporter_count(page)
    page.locator("#tips").get_by_role("link", name="赞赏", exact=True).click()
    page.wait_for_url("**/about/tip")
    expect(page.locator(".tip-for")).to_have_text("支持作者继续创作")

    # WeChat tells the shop no nickname, so the form offers to set one on 我的; saving it
    # comes back to the form signed with it.
    expect(_name(page)).to_have_value("")
    page.get_by_role("link", name="设置我的昵称和头像").click()
    page.get_by_label("昵称").fill(nickname)
    page.get_by_role("button", name="保存昵称").click()
    page.wait_for_url("**/about/tip")
    expect(_name(page)).to_have_value(nickname)
    expect(page.get_by_role("link", name="设置我的昵称和头像")).to_have_count(0)

    _custom(page).fill("6.66")
    expect(_checked_presets(page)).to_have_count(0)  # the typed amount is the one that counts
    _message(page).fill(message)
    assert_fits_phone(page)
    screenshot(page, "tip-wechat-form")

    assert _submit(page, "微信支付赞赏") == 302
    page.wait_for_url(ORDER_URL)
    expect(page.get_by_role("heading", name="微信支付")).to_be_visible()
    expect(page.locator(".order-title")).to_have_text(title)
    expect(page.locator(".pay-amount")).to_have_text("¥6.66")
    assert_fits_phone(page)

    page.get_by_role("button", name="确认支付 ¥6.66").click()
    sheet = page.locator("[data-sandbox-pay-sheet]")
    expect(sheet).to_contain_text("¥6.66")
    expect(sheet).to_contain_text(PAYEE)
    assert_on_screen(sheet.get_by_role("button", name="支付", exact=True))
    screenshot(page, "tip-wechat-sheet")
    sheet.get_by_role("button", name="支付", exact=True).click()

    _expect_thanks(page, amount, "/about", back="返回作者主页")
    expect(page.locator(".share-title")).to_have_text("把作者分享给朋友")
    expect(page.locator(".share-prompt")).to_contain_text("点右上角 ··· 选择「发送给朋友」")
    assert_fits_phone(page)
    screenshot(page, "tip-wechat-thanks")

    page.get_by_role("link", name="返回作者主页").click()
    page.wait_for_url("**/about")
    # The creator's wall holds every tip in the shop (other tests' too): ours is one more
    # supporter and, newest first, at the top, under the name chosen on 我的 and, with no
    # picture chosen (WeChat gives none), the shop's stand-in.
    assert _supporter_count(page) == before + 1
    newest = _newest_supporter(page)
    expect(newest.locator(".supporter-name")).to_have_text(nickname)
    expect(newest.locator(".supporter-amount")).to_have_text("¥6.66")
    expect(newest.locator(".supporter-message")).to_have_text(message)
    expect(newest.locator(".supporter-item")).to_have_count(0)  # for the creator, no item
    expect(newest.locator(".supporter-avatar")).to_have_attribute(
        "src", re.compile(r"/static/img/avatar\.svg\?v=")
    )
    assert_fits_phone(page)


# --- 3. H5: a phone browser outside WeChat goes to the sandbox's cashier -----------------------


def test_phone_browser_tip_through_the_h5_cashier(safari, screenshot):
    item, amount = H5_ITEM, 200
    title = f"赞赏《{item['title']}》"

    page = safari.new_page()
    _open_tip_form(page, item)
    expect(page.get_by_role("button", name="用另一台手机扫码支付")).to_be_visible()
    _preset(page, amount).check()
    _message(page).fill("工具包里的模板很好用")
    # No name: a guest's tip is signed 一位读者 (the shop never learns the payer's nickname).
    expect(_name(page)).to_have_value("")

    assert _submit(page, "微信支付赞赏") == 302
    page.wait_for_url("**/sandbox/pay/h5?**")
    assert "redirect_url=" in page.url
    _pay_on_sandbox_cashier(page, amount, title, "手机浏览器的读者")

    page.wait_for_url(ORDER_URL)
    _expect_thanks(page, amount, f"/p/{item['slug']}", back="返回")
    expect(page.locator(".share-title")).to_have_text("把这篇内容分享给朋友")
    assert_fits_phone(page)
    screenshot(page, "tip-h5-thanks")

    page.get_by_role("link", name="返回", exact=True).click()
    page.wait_for_url(f"**/p/{item['slug']}")
    newest = _newest_supporter(page)
    expect(newest.locator(".supporter-name")).to_have_text("一位读者")
    expect(newest.locator(".supporter-message")).to_have_text("工具包里的模板很好用")
    assert_fits_phone(page)


# --- 4. The form: refused amounts, and what its script does ------------------------------------


# What a reader might type, and what the re-rendered form (a 400) tells them.
REFUSED_AMOUNTS = [
    ("0", "赞赏金额至少 ¥0.01"),
    ("abc", "请输入数字金额"),
    ("1.234", "金额最多两位小数"),
    ("600", "单次赞赏最多 ¥500"),
]


def test_refused_amounts_are_explained_and_what_was_typed_stays(desktop):
    page = desktop.new_page()
    page.goto(f"/p/{FORM_ITEM['slug']}/tip")
    # One page for all four: each refusal is sent from the form the last one re-rendered,
    # so a refused form must stay usable.
    for typed, error in REFUSED_AMOUNTS:
        message = f"想赞赏 {typed} 元"
        _custom(page).fill(typed)
        _message(page).fill(message)
        _name(page).fill("校验读者")

        assert _submit(page, "微信扫码赞赏") == 400, typed
        expect(page.locator("[data-tip-error]")).to_have_text(error)
        expect(_custom(page)).to_have_value(typed)
        expect(_checked_presets(page)).to_have_count(0)  # the typed amount was the one sent
        expect(_message(page)).to_have_value(message)
        expect(_name(page)).to_have_value("校验读者")

    # Nothing was ordered.
    page.goto("/orders")
    expect(page.get_by_role("heading", name="我的订单")).to_be_visible()
    expect(page.locator(".library-item")).to_have_count(0)
    expect(page.locator(".empty")).to_have_text("还没有订单。")


def test_the_form_script_keeps_one_amount_and_the_name_follows_anonymous(desktop):
    page = desktop.new_page()
    page.goto(f"/p/{FORM_ITEM['slug']}/tip")
    expect(_checked_presets(page)).to_have_count(1)
    expect(_preset(page, 500)).to_be_checked()

    # Typing an amount unchecks the presets (key by key, as a person types); choosing a
    # preset clears the typed amount.
    _custom(page).press_sequentially("8.8")
    expect(_checked_presets(page)).to_have_count(0)
    _preset(page, 2000).check()
    expect(_custom(page)).to_have_value("")
    expect(_preset(page, 2000)).to_be_checked()

    # 匿名 makes the name read-only (still sent, so a refused form keeps it; the server
    # stores no name for an anonymous tip); unticking brings it back.
    _name(page).fill("不想露面的人")
    _anonymous(page).check()
    expect(_name(page)).not_to_be_editable()
    _anonymous(page).uncheck()
    expect(_name(page)).to_be_editable()
    expect(_name(page)).to_have_value("不想露面的人")

    # A refused anonymous form comes back still anonymous, the name kept and stepped back.
    _anonymous(page).check()
    _custom(page).fill("0")
    assert _submit(page, "微信扫码赞赏") == 400
    expect(_anonymous(page)).to_be_checked()
    expect(_name(page)).not_to_be_editable()
    expect(_name(page)).to_have_value("不想露面的人")
    _anonymous(page).uncheck()
    expect(_name(page)).to_have_value("不想露面的人")


# --- 5. At 390 px: the form, its error, and a wall with long words -----------------------------

# What readers really paste: an unbroken URL and a name with no spaces, at the limits
# (100 and 20 characters). Neither may push the page sideways.
LONG_MESSAGE = ("https://example.com/notes/" + "a" * 74)[:100]
LONG_NAME = "Supercalifragilistic"  # 20 characters, one word


def test_form_and_a_wall_with_long_words_fit_a_phone(safari, phone, screenshot):
    item, amount = LONG_WALL_ITEM, 200
    title = f"赞赏《{item['title']}》"
    assert len(LONG_MESSAGE) == 100 and len(LONG_NAME) == 20

    page = safari.new_page()
    _open_tip_form(page, item)
    assert_fits_phone(page)
    screenshot(page, "tip-phone-form")

    _custom(page).fill("abc")
    assert _submit(page, "微信支付赞赏") == 400
    expect(page.locator("[data-tip-error]")).to_be_visible()
    assert_fits_phone(page)
    screenshot(page, "tip-phone-form-error")

    # Paid by another phone (the phone browser's QR option), so this one needs no cashier.
    _preset(page, amount).check()
    _message(page).fill(LONG_MESSAGE)
    _name(page).fill(LONG_NAME)
    assert _submit(page, "用另一台手机扫码支付") == 302
    _expect_native_pay_page(page, amount, title)
    assert_fits_phone(page)
    _scan_and_pay(phone.new_page(), decode_qr(page), amount, title, "帮忙扫码的朋友")
    _expect_thanks(page, amount, f"/p/{item['slug']}", back="返回")
    assert_fits_phone(page)

    page.goto(f"/p/{item['slug']}")
    newest = _newest_supporter(page)
    expect(newest.locator(".supporter-name")).to_have_text(LONG_NAME)
    expect(newest.locator(".supporter-message")).to_have_text(LONG_MESSAGE)
    assert_fits_phone(page)
    # The message wraps inside the wall rather than running past its edge.
    wall = page.locator("#tips").bounding_box()
    text = newest.locator(".supporter-message").bounding_box()
    assert text["x"] + text["width"] <= wall["x"] + wall["width"], (text, wall)
    page.locator("#tips").scroll_into_view_if_needed()
    screenshot(page, "tip-phone-wall-long")

    # The same wall closes the item's free lesson.
    page.goto(f"/p/{item['slug']}/s/1")
    expect(_newest_supporter(page).locator(".supporter-message")).to_have_text(LONG_MESSAGE)
    assert_fits_phone(page)
