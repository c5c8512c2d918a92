"""Paying in a real browser, through the built-in WeChat sandbox: Native QR on a desktop
(decoded from the picture and "scanned" by a phone), JSAPI inside WeChat, H5 in a phone's
browser, an order that expires, a refund that takes the content away again, and a phone that
shows a QR for another phone (WeChat's five-minute close window keeps one payable order).

The live server is not in testing mode: the sandbox's worker thread delivers notifications,
and the pay pages' polling also asks the sandbox (at most every PAY_QUERY_MIN_INTERVAL s).

Every payer is a new sandbox WeChat user, so the demo readers' libraries stay as
test_browse.py expects them, whatever order the tests run in.
"""

import re
from datetime import timedelta

try:
    from playwright.sync_api import expect
except ImportError:  # conftest skips these tests (or fails them under REQUIRE_BROWSER=1)
    expect = None

from app.demo import content
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


def _product(slug: str) -> dict:
    return next(p for p in content.PRODUCTS if p["slug"] == slug)


def _paid_sentence(product: dict) -> str:
    """The first line after the <!--more--> marker that is plain prose (no Markdown syntax)."""
    _, marker, after = product["body_md"].partition(content.PREVIEW_MARKER)
    assert marker, f"{product['slug']} lost its preview marker"
    line = next(
        line for line in after.splitlines() if line.strip() and line[0] not in "#*-1234567890>"
    )
    return line.split("。")[0][:20]


# Paid articles with a preview marker; none of them matters to the demo readers' libraries
# because every payer below is a new sandbox user and every buyer a fresh browser.
NATIVE = _product("first-1000-readers")
JSAPI = _product("weekly-review-30-minutes")
JSAPI_CANCELLED = _product("pricing-your-knowledge")
H5 = _product("first-1000-readers")
EXPIRING = _product("weekly-review-30-minutes")
REFUNDED = _product("pricing-your-knowledge")


def test_demo_content_still_matches_these_tests():
    for product in (NATIVE, JSAPI, JSAPI_CANCELLED, H5, EXPIRING, REFUNDED):
        assert product["kind"] == "article" and product["status"] == "published"
        assert product["price_fen"] > 0
        preview, _, _ = product["body_md"].partition(content.PREVIEW_MARKER)
        assert _paid_sentence(product) not in preview


def _out_trade_no(page) -> str:
    match = ORDER_URL.search(page.url)
    assert match, f"not an order page: {page.url}"
    return match.group(1)


def _open_confirm(page, product: dict):
    """Product page → 立即购买 → 确认订单."""
    page.goto(f"/p/{product['slug']}")
    page.locator(".buybar").get_by_role("link", name="立即购买").click()
    page.wait_for_url(f"**/p/{product['slug']}/buy")
    expect(page.get_by_role("heading", name="确认订单")).to_be_visible()
    expect(page.locator("[data-total]")).to_have_text(format_fen(product["price_fen"]))


def _start_native(page, product: dict, screenshot=None) -> str:
    """On a desktop: buy → confirm → the Native pay page; returns the order's out_trade_no."""
    _open_confirm(page, product)
    if screenshot:
        screenshot(page, "pay-desktop-confirm")
    price = format_fen(product["price_fen"])
    page.get_by_role("button", name=f"微信扫码支付 {price}").click()
    page.wait_for_url(ORDER_URL)
    expect(page.get_by_role("heading", name="微信扫码支付")).to_be_visible()
    expect(page.locator(".pay-amount")).to_have_text(price)
    expect(page.locator(".order-title")).to_have_text(product["title"])
    qr = page.locator("img[data-qr]")
    expect(qr).to_be_visible()
    page.wait_for_function("document.querySelector('img[data-qr]').naturalWidth > 0")
    # The countdown starts near ORDER_TTL_MINUTES (2 h): "1:59:58" or so.
    expect(page.locator("[data-countdown]")).to_have_text(re.compile(r"^1:5\d:\d\d$"))
    return _out_trade_no(page)


def _pay_on_sandbox_cashier(
    page, product: dict, nickname: str, screenshot=None, name: str = ""
) -> None:
    """The sandbox's 微信支付 page (Native scan or H5): check it, pay as a new user."""
    expect(page.locator(".wx-pay-payee")).to_have_text(PAYEE)
    expect(page.locator(".wx-pay-amount")).to_have_text(format_fen(product["price_fen"]))
    expect(page.locator(".wx-pay-lines")).to_contain_text(product["title"])
    expect(page.get_by_role("button", name="支付", exact=True)).to_be_enabled()
    assert_fits_phone(page)
    page.get_by_label("或新建测试用户").fill(nickname)
    if screenshot:
        screenshot(page, name)
    page.get_by_role("button", name="支付", exact=True).click()


def _scan_and_pay(phone_page, code_url: str, product: dict, nickname: str, screenshot=None):
    phone_page.goto(code_url)
    _pay_on_sandbox_cashier(phone_page, product, nickname, screenshot, "pay-phone-scan")
    expect(phone_page.locator(".wx-result-message")).to_have_text("支付成功")
    expect(phone_page.locator(".wx-pay-lines")).to_contain_text(nickname)
    assert_fits_phone(phone_page)
    if screenshot:
        screenshot(phone_page, "pay-phone-scan-paid")


def _expect_content(page, product: dict) -> None:
    expect(page.locator(".reader .prose")).to_contain_text(_paid_sentence(product))


def _buy_on_desktop_and_pay_by_phone(desktop_page, phone_page, product: dict, nickname: str):
    """The whole Native purchase; the desktop ends on the content. Returns out_trade_no."""
    out_trade_no = _start_native(desktop_page, product)
    code_url = decode_qr(desktop_page)
    _scan_and_pay(phone_page, code_url, product, nickname)
    desktop_page.wait_for_url(f"**/p/{product['slug']}/read", timeout=PAID_WITHIN_MS)
    _expect_content(desktop_page, product)
    return out_trade_no


def _record_status_texts(page) -> list[str]:
    """Every text the pay page's status line shows, even one that lasts a few milliseconds."""
    seen: list[str] = []

    def note(text: str) -> None:
        seen.append(text)

    page.expose_function("noteStatusText", note)
    page.evaluate(
        """() => {
          const line = document.querySelector("[data-status-text]");
          new MutationObserver(() => window.noteStatusText(line.textContent))
            .observe(line, { childList: true, characterData: true, subtree: true });
        }"""
    )
    return seen


# --- 1. Native: a desktop shows the QR code, a phone scans it --------------------------------


def test_desktop_native_qr_paid_by_a_phone(desktop, phone, screenshot):
    page = desktop.new_page()
    out_trade_no = _start_native(page, NATIVE, screenshot)
    expect(page.locator(".order-line")).to_contain_text(out_trade_no)
    expect(page.locator("[data-status-text]")).to_have_text("等待支付…")
    screenshot(page, "pay-desktop-native")

    code_url = decode_qr(page)
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/sandbox/pay/scan/[\w-]+", code_url), code_url
    # The sandbox's "phone page" link under the code is the same URL.
    expect(page.locator(f'a[href="{code_url}"]')).to_be_visible()
    assert page.request.get(f"/orders/{out_trade_no}/qr.png").status == 200

    scanner = phone.new_page()
    _scan_and_pay(scanner, code_url, NATIVE, "扫码的同事", screenshot)

    # No click on the desktop: its 2-second poll notices the payment and opens the content.
    page.wait_for_url(f"**/p/{NATIVE['slug']}/read", timeout=PAID_WITHIN_MS)
    _expect_content(page, NATIVE)
    screenshot(page, "pay-desktop-native-read")

    # The WeChat account that paid owns it too: the phone (whose WeChat user is the payer)
    # signs in silently and finds it in 已购.
    scanner.goto("/")
    scanner.wait_for_url(re.compile(r"^http://127\.0\.0\.1:\d+/$"))
    scanner.locator("nav.tabbar").get_by_role("link", name="已购", exact=True).click()
    scanner.wait_for_url("**/library")
    items = scanner.locator(".library-item")
    expect(items).to_have_count(1)
    expect(items.filter(has_text=NATIVE["title"])).to_be_visible()
    assert_fits_phone(scanner)
    screenshot(scanner, "pay-phone-payer-library")


# --- 2. JSAPI: inside WeChat, the WeixinJSBridge sheet ----------------------------------------


def _start_jsapi(page, product: dict, screenshot=None) -> str:
    _open_confirm(page, product)
    assert_fits_phone(page)
    if screenshot:
        screenshot(page, "pay-jsapi-confirm")
    price = format_fen(product["price_fen"])
    page.get_by_role("button", name=f"微信支付 {price}").click()
    page.wait_for_url(ORDER_URL)
    expect(page.get_by_role("heading", name="微信支付")).to_be_visible()
    expect(page.locator(".pay-amount")).to_have_text(price)
    expect(page.locator("[data-status-text]")).to_have_text("点击下方按钮完成支付")
    assert_fits_phone(page)
    return _out_trade_no(page)


def _open_sheet(page, product: dict):
    page.get_by_role("button", name=f"确认支付 {format_fen(product['price_fen'])}").click()
    sheet = page.locator("[data-sandbox-pay-sheet]")
    expect(sheet).to_be_visible()
    expect(sheet).to_contain_text(format_fen(product["price_fen"]))
    expect(sheet).to_contain_text(PAYEE)
    for label in ("支付", "取消"):
        assert_on_screen(sheet.get_by_role("button", name=label, exact=True))
    assert_fits_phone(page)
    return sheet


def test_wechat_jsapi_pays_with_the_bridge_sheet_or_cancels(phone, screenshot):
    page = phone.new_page()
    sign_in_in_wechat(page, "微信里的读者")

    _start_jsapi(page, JSAPI, screenshot)
    screenshot(page, "pay-jsapi")
    statuses = _record_status_texts(page)
    sheet = _open_sheet(page, JSAPI)
    screenshot(page, "pay-jsapi-sheet")
    sheet.get_by_role("button", name="支付", exact=True).click()
    expect(sheet).to_contain_text("支付成功")
    page.wait_for_url(f"**/p/{JSAPI['slug']}/read", timeout=PAID_WITHIN_MS)
    # On the way the shop said it was confirming, then that it was paid.
    assert "支付完成，正在确认…" in statuses or "支付成功，正在打开内容…" in statuses, statuses
    _expect_content(page, JSAPI)
    assert_fits_phone(page)
    screenshot(page, "pay-jsapi-read")

    # Cancelling on the sheet leaves the order waiting to be paid.
    out_trade_no = _start_jsapi(page, JSAPI_CANCELLED)
    sheet = _open_sheet(page, JSAPI_CANCELLED)
    sheet.get_by_role("button", name="取消", exact=True).click()
    expect(sheet).to_have_count(0)
    expect(page.locator("[data-status-text]")).to_have_text("你取消了支付，可以再次点击支付")
    screenshot(page, "pay-jsapi-cancelled")
    status = page.request.get(f"/orders/{out_trade_no}/status").json()
    assert status["status"] == "pending" and status["next"] is None
    assert page.url.endswith(f"/orders/{out_trade_no}")
    # Still payable: the sandbox offers 支付 again (cancel once more).
    sheet = _open_sheet(page, JSAPI_CANCELLED)
    sheet.get_by_role("button", name="取消", exact=True).click()
    expect(sheet).to_have_count(0)
    page.goto("/orders")
    expect(page.locator(".library-item").filter(has_text=JSAPI_CANCELLED["title"])).to_contain_text(
        "待支付"
    )
    expect(page.locator(".library-item").filter(has_text=JSAPI["title"])).to_contain_text("已支付")
    assert_fits_phone(page)
    screenshot(page, "pay-jsapi-orders")


# --- 3. H5: a phone browser outside WeChat goes to the sandbox's cashier ----------------------


def test_phone_browser_h5_cashier_returns_to_the_order(safari, screenshot):
    page = safari.new_page()
    _open_confirm(page, H5)
    # A phone outside WeChat may also pay by letting another phone scan (Native).
    expect(page.get_by_role("button", name="用另一台手机扫码支付")).to_be_visible()
    assert_fits_phone(page)
    screenshot(page, "pay-h5-confirm")

    page.get_by_role("button", name=f"微信支付 {format_fen(H5['price_fen'])}").click()
    page.wait_for_url("**/sandbox/pay/h5?**")
    assert "redirect_url=" in page.url
    _pay_on_sandbox_cashier(page, H5, "手机浏览器读者", screenshot, "pay-h5-cashier")

    page.wait_for_url(ORDER_URL)
    paid = page.get_by_role("heading", name="支付成功")
    expect(paid.or_(page.locator(".reader .prose"))).to_be_visible(timeout=PAID_WITHIN_MS)
    if ORDER_URL.search(page.url) and paid.is_visible():
        expect(page.locator(".order-title")).to_have_text(H5["title"])
        assert_fits_phone(page)
        screenshot(page, "pay-h5-paid")
        page.get_by_role("link", name="开始阅读").click()
    page.wait_for_url(f"**/p/{H5['slug']}/read")
    _expect_content(page, H5)
    assert_fits_phone(page)
    screenshot(page, "pay-h5-read")


# --- 4. An order that expires before anyone pays -----------------------------------------------


def _expire(app, out_trade_no: str) -> None:
    """Let the order's time run out, here and at the sandbox's WeChat Pay (which got the same
    time_expire): both expiry times move an hour into the past."""
    import sqlalchemy as sa

    from app.extensions import db
    from app.models import Order
    from app.models.base import utcnow
    from app.sandbox.models import SandboxPayOrder

    past = utcnow() - timedelta(hours=1)
    with app.app_context():
        for model in (Order, SandboxPayOrder):
            updated = db.session.execute(
                sa.update(model).where(model.out_trade_no == out_trade_no).values(expires_at=past)
            ).rowcount
            assert updated == 1, model
        db.session.commit()


def test_expired_native_order_closes_and_its_code_is_refused(desktop, phone, live_app, screenshot):
    page = desktop.new_page()
    out_trade_no = _start_native(page, EXPIRING)
    code_url = decode_qr(page)

    _expire(live_app, out_trade_no)
    # The open page notices by itself (its next poll answers "closed" and it reloads); a
    # reload by hand shows the same.
    closed = page.get_by_role("heading", name="订单已关闭")
    expect(closed).to_be_visible()
    page.reload()
    expect(closed).to_be_visible()
    expect(page.locator(".order-card")).to_contain_text("订单已超时或已取消，没有扣款")
    again = page.get_by_role("link", name="重新购买")
    expect(again).to_have_attribute("href", f"/p/{EXPIRING['slug']}/buy")
    expect(page.locator("img[data-qr]")).to_have_count(0)
    screenshot(page, "pay-desktop-expired")
    assert page.request.get(f"/orders/{out_trade_no}/qr.png").status == 404
    assert page.request.get(f"/orders/{out_trade_no}/status").json()["status"] == "closed"

    scanner = phone.new_page()
    scanner.goto(code_url)
    expect(scanner.locator(".wx-result-refused")).to_contain_text("订单已过期")
    expect(scanner.get_by_role("button", name="支付", exact=True)).to_have_count(0)
    assert_fits_phone(scanner)
    screenshot(scanner, "pay-phone-scan-expired")

    # 重新购买 starts a new order with a new code.
    again.click()
    page.wait_for_url(f"**/p/{EXPIRING['slug']}/buy")
    page.get_by_role("button", name=re.compile("^微信扫码支付")).click()
    page.wait_for_url(ORDER_URL)
    assert _out_trade_no(page) != out_trade_no
    expect(page.locator("img[data-qr]")).to_be_visible()
    assert decode_qr(page) != code_url


# --- 5. A full refund takes the content away ---------------------------------------------------


def _wait_until_refunded(app, out_trade_no, deliver, timeout=10.0):
    """The sandbox's worker thread may be the one delivering the refund notification."""
    import time

    import sqlalchemy as sa

    from app.extensions import db
    from app.models import Order, OrderStatus

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        deliver(app)
        with app.app_context():
            status = db.session.scalar(
                sa.select(Order.status).where(Order.out_trade_no == out_trade_no)
            )
        if status is OrderStatus.REFUNDED:
            return
        time.sleep(0.1)
    raise AssertionError(f"{out_trade_no} was not refunded within {timeout} s")


def test_full_refund_brings_the_paywall_back(desktop, phone, live_app, screenshot):
    from app.sandbox.notify import deliver_due_notifications

    page = desktop.new_page()
    payer = phone.new_page()
    out_trade_no = _buy_on_desktop_and_pay_by_phone(page, payer, REFUNDED, "退款的付款人")

    result = live_app.test_cli_runner().invoke(args=["orders", "refund", out_trade_no])
    assert result.exit_code == 0, result.output
    assert "退款已受理" in result.output
    _wait_until_refunded(live_app, out_trade_no, deliver_due_notifications)

    response = page.goto(f"/p/{REFUNDED['slug']}/read")
    assert response.status == 403
    expect(page.locator(".paywall-title")).to_contain_text("购买后即可阅读")
    assert _paid_sentence(REFUNDED) not in page.content()
    screenshot(page, "pay-desktop-refunded-paywall")

    page.goto("/orders")
    expect(page.get_by_role("heading", name="我的订单")).to_be_visible()
    order = page.locator(".library-item").filter(has_text=REFUNDED["title"])
    expect(order).to_have_count(1)
    expect(order).to_contain_text("已退款")
    screenshot(page, "pay-desktop-orders-refunded")
    order.locator("a").click()
    page.wait_for_url(f"**/orders/{out_trade_no}")
    expect(page.get_by_role("heading", name="订单已退款")).to_be_visible()
    screenshot(page, "pay-desktop-order-refunded")

    # The WeChat account that paid lost its access too.
    payer.goto("/library")
    payer.wait_for_url("**/library")
    expect(payer.get_by_role("heading", name="已购")).to_be_visible()
    expect(payer.locator(".library-item")).to_have_count(0)
    expect(payer.locator(".empty-state")).to_contain_text("还没有已购内容")
    response = payer.goto(f"/p/{REFUNDED['slug']}/read")
    assert response.status == 403


# --- 6. A phone outside WeChat lets another phone scan ----------------------------------------


def test_phone_shows_a_qr_for_another_phone_and_keeps_one_payable_order(safari, phone, screenshot):
    page = safari.new_page()
    _open_confirm(page, EXPIRING)
    page.get_by_role("button", name="用另一台手机扫码支付").click()
    page.wait_for_url(ORDER_URL)
    out_trade_no = _out_trade_no(page)
    expect(page.get_by_role("heading", name="微信扫码支付")).to_be_visible()
    expect(page.locator("img[data-qr]")).to_be_visible()
    page.wait_for_function("document.querySelector('img[data-qr]').naturalWidth > 0")
    assert_fits_phone(page)
    screenshot(page, "pay-phone-native")
    code_url = decode_qr(page)

    # WeChat will not close an order in its first five minutes, so neither does the shop...
    page.get_by_role("button", name="取消订单").click()
    expect(page.locator(".flash")).to_contain_text("5 分钟后才能取消")
    assert page.url.endswith(f"/orders/{out_trade_no}")
    expect(page.locator("img[data-qr]")).to_be_visible()
    assert_fits_phone(page)
    screenshot(page, "pay-phone-native-cancel-refused")
    # ...nor does it start a second payable order for the same thing on another channel.
    _open_confirm(page, EXPIRING)
    page.get_by_role("button", name=f"微信支付 {format_fen(EXPIRING['price_fen'])}").click()
    page.wait_for_url(f"**/p/{EXPIRING['slug']}")
    expect(page.locator(".flash")).to_contain_text("还有一笔刚发起、未完成的支付")

    # The first order is still the one to pay: another phone scans it, this one opens the text.
    page.goto(f"/orders/{out_trade_no}")
    _scan_and_pay(phone.new_page(), code_url, EXPIRING, "帮忙扫码的朋友")
    page.wait_for_url(f"**/p/{EXPIRING['slug']}/read", timeout=PAID_WITHIN_MS)
    _expect_content(page, EXPIRING)
    assert_fits_phone(page)
