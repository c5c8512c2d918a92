"""The creator's studio in a real browser: the dashboard's cards, charts, ranges and CSV
exports on a desktop and at 390 px, and the orders pages (filters, search, an order's
payment events, a partial refund that cannot be sent twice).

Like test_studio_editor.py, this module adds a creator of its own to the demo shop (the
seed's creator has a random password). The refund is of an order a new sandbox WeChat user
pays for here, so the other e2e tests find the demo readers and their libraries unchanged.
Generated history orders cannot be refunded: no sandbox payment stands behind them.
"""

import re
import time
from datetime import date, timedelta

try:
    from playwright.sync_api import expect
except ImportError:  # conftest skips these tests (or fails them under REQUIRE_BROWSER=1)
    expect = None

from app.demo import content
from app.money import format_fen, yuan_for_input
from tests.e2e.conftest import ORDER_URL, assert_fits_phone, log_in_to_studio

# Bought (and partly refunded) below by a new sandbox user: any paid item will do.
REFUNDED = next(p for p in content.PRODUCTS if p["slug"] == "career-letters")
PARTIAL_REFUND_FEN = 50
UTF8_BOM = b"\xef\xbb\xbf"


def _watch(page, live_server) -> tuple[list[str], list[str]]:
    """Console errors (and uncaught exceptions), and every request to another host."""
    errors: list[str] = []
    elsewhere: list[str] = []
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "request",
        lambda request: request.url.startswith(live_server + "/") or elsewhere.append(request.url),
    )
    return errors, elsewhere


# --- the dashboard ---------------------------------------------------------------------------


def _expect_dashboard(page) -> None:
    """Cards with figures, and a drawn plot in every chart box (Plotly's SVG inside)."""
    values = page.locator("[data-card] [data-value]")
    expect(values.first).to_be_visible()
    assert values.count() >= 4
    for text in values.all_inner_texts():
        assert re.search(r"\d", text), f"a card without a figure: {text!r}"
    charts = page.locator("[data-chart]")
    assert charts.count() >= 1, "no chart on the dashboard"
    for box in charts.all():
        expect(box.locator(".plot-container .main-svg").first).to_be_attached()


def _period(page) -> tuple[date, date]:
    first = page.get_by_label("开始日期").input_value()
    last = page.get_by_label("结束日期").input_value()
    return date.fromisoformat(first), date.fromisoformat(last)


def _choose(page, nav_label: str, link: str, query: str) -> None:
    nav = page.get_by_role("navigation", name=nav_label)
    nav.get_by_role("link", name=link, exact=True).click()
    page.wait_for_url(re.compile(re.escape(query)))
    expect(nav.locator("a.active")).to_have_text(link)
    _expect_dashboard(page)


def _expect_hover_tooltip(page) -> None:
    """Plotly draws its tooltip into .hoverlayer on mousemove. Headless Chromium sometimes
    misses a move (the plot may still be settling), so try a few bars, each twice."""
    # The first trace's bars are sales; tips (the other tests add some) stack on top.
    bars = page.locator('[data-chart="revenue"] .barlayer .trace').first.locator(".point path")
    expect(bars.first).to_be_attached()
    tooltip = page.locator('[data-chart="revenue"] .hoverlayer .hovertext')
    total = bars.count()
    for index in (total - 1, total // 2, 0):
        box = bars.nth(index).bounding_box()
        if not box or box["height"] < 1:
            continue  # a step without sales: no bar to point at
        for _ in range(2):
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            try:
                expect(tooltip.first).to_contain_text("销售 ¥", timeout=1_000)
            except AssertionError:
                page.mouse.move(0, 0)
                continue
            # Net sales: a step with more refunded than sold is negative.
            assert re.search(r"销售 ¥[−-]?[\d,]+\.\d\d", tooltip.first.text_content())
            return
    raise AssertionError("no tooltip over any bar of the revenue chart")


def _expect_default_view(page) -> date:
    """The last 30 days, by day; returns the last day (today in Beijing)."""
    _expect_dashboard(page)
    expect(page.get_by_role("navigation", name="时间范围").locator("a.active")).to_have_text(
        "近 30 天"
    )
    expect(page.get_by_role("navigation", name="粒度").locator("a.active")).to_have_text("日")
    first, last = _period(page)
    assert (last - first).days == 29
    return last


def _expect_csv_download(page) -> None:
    """The export is the range on screen, as UTF-8 with a BOM (for Excel)."""
    with page.expect_download() as download_info:
        page.locator('a.export[href*="/dashboard/revenue.csv"]').click()
    download = download_info.value
    first, last = _period(page)
    assert download.suggested_filename == f"dashboard-revenue-{first}-{last}.csv"
    with open(download.path(), "rb") as csv_file:
        head = csv_file.read(200)
    assert head.startswith(UTF8_BOM), head[:10]
    assert head[3:].decode("utf-8").startswith("start,"), head


def test_dashboard_on_a_desktop(desktop, live_server, creator_login, screenshot):
    page = desktop.new_page()
    errors, elsewhere = _watch(page, live_server)
    log_in_to_studio(page, creator_login, "/studio/")
    today = _expect_default_view(page)
    expect(page.locator("table[data-table=funnel] thead")).to_be_visible()
    screenshot(page, "studio-dashboard-desktop")

    _choose(page, "时间范围", "近 7 天", "range=7")
    assert _period(page) == (today - timedelta(days=6), today)
    expect(page.get_by_text("与之前 7 天相比")).to_be_visible()
    _choose(page, "粒度", "周", "grain=week")
    assert "range=7" in page.url, "the grain link forgot the range"
    _choose(page, "时间范围", "全部", "range=all")
    assert "grain" not in page.url
    first, _ = _period(page)
    assert (today - first).days >= 89, "all time is shorter than the generated history"
    _choose(page, "粒度", "月", "grain=month")

    _expect_hover_tooltip(page)
    _expect_csv_download(page)
    assert not errors, f"console errors: {errors}"
    assert not elsewhere, f"requests to other hosts: {elsewhere}"


def test_dashboard_on_a_phone(safari, live_server, creator_login, screenshot):
    page = safari.new_page()
    errors, elsewhere = _watch(page, live_server)
    log_in_to_studio(page, creator_login, "/studio/")
    today = _expect_default_view(page)
    assert_fits_phone(page)
    # The funnel's items are cards here, not a table to scroll sideways.
    funnel = page.locator("table[data-table=funnel]")
    expect(funnel.locator("thead")).to_be_hidden()
    expect(funnel.locator("td[data-label=净收入]").first).to_be_visible()
    assert funnel.evaluate("table => table.scrollWidth <= table.parentElement.clientWidth")
    screenshot(page, "studio-dashboard-phone")

    # Two weeks ending yesterday, typed into the date inputs.
    first, last = today - timedelta(days=14), today - timedelta(days=1)
    page.get_by_label("开始日期").fill(first.isoformat())
    page.get_by_label("结束日期").fill(last.isoformat())
    page.get_by_role("button", name="查看").click()
    page.wait_for_url(re.compile(r"range=custom"))
    assert _period(page) == (first, last)
    expect(page.get_by_text("与之前 14 天相比")).to_be_visible()
    expect(page.get_by_role("navigation", name="时间范围").locator("a.active")).to_have_count(0)
    _expect_dashboard(page)
    assert_fits_phone(page)

    _choose(page, "粒度", "周", "grain=week")
    assert _period(page) == (first, last), "the grain link forgot the custom range"
    assert_fits_phone(page)
    # A tooltip follows a mouse: the desktop test hovers; a phone's tap is not asked for.
    _expect_csv_download(page)
    assert not errors, f"console errors: {errors}"
    assert not elsewhere, f"requests to other hosts: {elsewhere}"


# --- orders --------------------------------------------------------------------------------


def _pay_as_a_new_reader(page) -> str:
    """A phone's browser buys REFUNDED through the sandbox's H5 cashier; its out_trade_no."""
    page.goto(f"/p/{REFUNDED['slug']}/buy")
    page.get_by_role("button", name=f"微信支付 {format_fen(REFUNDED['price_fen'])}").click()
    page.wait_for_url("**/sandbox/pay/h5?**")
    page.get_by_label("或新建测试用户").fill("看板测试的读者")
    page.get_by_role("button", name="支付", exact=True).click()
    page.wait_for_url(ORDER_URL)
    out_trade_no = ORDER_URL.search(page.url).group(1)
    paid = page.get_by_role("heading", name="支付成功").or_(page.locator(".reader .prose"))
    expect(paid).to_be_visible(timeout=15_000)
    return out_trade_no


def _order_rows(page):
    return page.locator("[data-order-list] .order-row")


def test_orders_filter_search_and_a_partial_refund(desktop, safari, creator_login):
    out_trade_no = _pay_as_a_new_reader(safari.new_page())

    page = desktop.new_page()
    log_in_to_studio(page, creator_login, "/studio/orders")
    expect(page.get_by_role("heading", name="订单")).to_be_visible()
    expect(_order_rows(page).first).to_be_visible()

    # 已支付 only.
    page.get_by_text("更多筛选").click()
    page.get_by_label("状态").select_option(label="已支付")
    page.get_by_role("button", name="筛选").click()
    page.wait_for_url(re.compile(r"status=paid"))
    expect(page.get_by_label("状态")).to_have_value("paid")
    rows = _order_rows(page)
    expect(rows.first).to_be_visible()
    badges = rows.locator(".badge").all_inner_texts()
    assert badges and set(badges) == {"已支付"}, set(badges)

    # Search by an order number taken from the list.
    wanted = rows.nth(2).locator("[data-out-trade-no]").inner_text().strip()
    page.get_by_role("searchbox").fill(wanted)
    page.get_by_role("button", name="查找").click()
    page.wait_for_url(re.compile(rf"q={wanted}"))
    expect(rows).to_have_count(1)
    expect(rows.locator("[data-out-trade-no]")).to_have_text(wanted)
    expect(page.locator("[data-total-count]")).to_have_text("1")

    # The order the sandbox user paid: its page shows every step of the payment.
    page.get_by_role("searchbox").fill(out_trade_no)
    page.get_by_role("button", name="查找").click()
    expect(rows).to_have_count(1)
    rows.first.locator("a").click()
    page.wait_for_url(f"**/studio/orders/{out_trade_no}")
    expect(page.get_by_role("heading", name=REFUNDED["title"])).to_be_visible()
    expect(page.locator("[data-order-status]")).to_have_text("已支付")
    events = page.locator("[data-events]")
    for label in ("下单", "获取预支付", "支付成功"):
        expect(events.locator("strong", has_text=label).first).to_be_visible()

    # A partial refund: the form, the confirm page that restates it, then 确认退款.
    refund = format_fen(PARTIAL_REFUND_FEN)
    page.get_by_label("退款金额（元）").fill(yuan_for_input(PARTIAL_REFUND_FEN))
    page.get_by_label("退款原因").fill("e2e：部分退款")
    page.get_by_role("button", name="退款…").click()
    expect(page.get_by_role("heading", name="确认退款")).to_be_visible()
    confirm = page.locator("[data-refund-confirm]")
    expect(confirm.locator(".refund-confirm-amount")).to_contain_text(refund)
    expect(confirm.locator(".badge")).to_have_text("部分退款")
    expect(confirm.locator("[data-access-note]")).to_have_text("部分退款，读者保留访问权限。")
    # Sent from a second tab, so that this tab keeps the confirm page as it was: what the
    # Back button would bring back. Chromium's own Back cannot: the page answered a POST,
    # with Vary: Cookie, and sending it changed the session cookie (the flash), so Back
    # finds no cached copy (net::ERR_CACHE_MISS, "Confirm Form Resubmission").
    confirm.locator("form").evaluate("form => { form.target = '_blank'; }")
    send = page.get_by_role("button", name=f"确认退款 {refund}")
    sent = _result_in_new_tab(desktop, send)
    expect(sent.locator(".flash")).to_contain_text(f"已向微信提交退款 {refund}")
    expect(sent.locator("[data-refunds] tbody tr")).to_have_count(1)

    # The same confirm page sent again: refused, nothing more is refunded.
    again = _result_in_new_tab(desktop, send)
    expect(again.locator(".flash")).to_contain_text("这笔退款已经提交过了")
    _reload_until(again, again.locator("[data-order-status]"), "部分退款")
    expect(again.locator("[data-refunds] tbody tr")).to_have_count(1)
    expect(again.locator("[data-refunded]")).to_have_text(refund)
    for label in ("后台确认退款", "微信受理退款", "退款成功"):
        expect(again.locator("[data-events] strong", has_text=label).first).to_be_visible()


def _result_in_new_tab(context, button):
    """Click a submit button whose form targets _blank; the page that opens, loaded."""
    with context.expect_page() as opened:
        button.click()
    result = opened.value
    result.wait_for_load_state()
    return result


def _reload_until(page, locator, text: str, timeout_s: float = 10.0) -> None:
    """The sandbox's worker thread delivers WeChat's refund notification in a moment."""
    deadline = time.monotonic() + timeout_s
    while locator.inner_text().strip() != text:
        assert time.monotonic() < deadline, f"still {locator.inner_text()!r}, not {text!r}"
        page.wait_for_timeout(200)
        page.reload()


def test_orders_list_fits_a_phone(safari, creator_login, screenshot):
    page = safari.new_page()
    log_in_to_studio(page, creator_login, "/studio/orders")
    expect(_order_rows(page).first).to_be_visible()
    assert_fits_phone(page)
    screenshot(page, "studio-orders-phone")
    page.get_by_text("更多筛选").click()
    expect(page.get_by_label("状态")).to_be_visible()
    assert_fits_phone(page)
