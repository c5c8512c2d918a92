"""The price rule in a real browser, on a phone inside WeChat (390 px): an item on a
limited-time offer with its countdown, a coupon typed on the confirm page, points spent
with one tap, every line of the price shown, and WeChat asked for exactly the total.

The item, the coupon and the reader's points are this test's own, made in the live shop, so
the demo's items and readers stay as the other browser tests expect them.
"""

import re
from datetime import timedelta

import sqlalchemy as sa

try:
    from playwright.sync_api import expect
except ImportError:  # conftest skips these tests (or fails them under REQUIRE_BROWSER=1)
    expect = None

from app.catalog import queries
from app.extensions import db
from app.models import Order, PointsKind, Reader
from app.models.base import utcnow
from app.pricing import offers, points
from app.transactions import begin_write
from tests import factories
from tests.e2e.conftest import ORDER_URL, PAID_WITHIN_MS, assert_fits_phone, sign_in_in_wechat


def _priced_item(app) -> str:
    """¥99 with an offer at ¥79 for two days; code E2ESAVE takes ¥10 off; 100 points a
    yuan, at most half of a price."""
    with app.app_context():
        begin_write()
        item = factories.product(title="定价实战课", price_fen=9900)
        now = utcnow()
        offers.create(item, 7900, now - timedelta(hours=1), now + timedelta(days=2))
        factories.coupon(code="E2ESAVE")
        queries.editable_shop_profile()
        points.save_settings(earn_per_yuan=1, per_yuan=100, max_percent=50)
        queries.mark_content_changed()
        db.session.commit()
        slug = item.slug
        db.session.remove()
    return slug


def _give_points(app, amount: int) -> int:
    """Points for the WeChat reader who signed in last (the sandbox's sign-in asks only for
    the openid, so the nickname is not known to the shop)."""
    with app.app_context():
        begin_write()  # the live server writes too: take the lock before reading
        reader_id = db.session.scalar(
            sa.select(Reader.id).where(Reader.openid.is_not(None)).order_by(Reader.id.desc())
        )
        points._change(db.session.connection(), reader_id, amount, PointsKind.EARNED, None)
        db.session.commit()
        db.session.remove()
    return reader_id


def _lines(page) -> list[tuple[str, str]]:
    rows = page.locator("[data-price-lines] .price-line")
    return [
        (rows.nth(i).locator("dt").inner_text(), rows.nth(i).locator("dd").inner_text())
        for i in range(rows.count())
    ]


def test_an_offer_a_coupon_and_points_on_the_confirm_page_at_390px(live_app, phone, screenshot):
    slug = _priced_item(live_app)
    page = phone.new_page()
    sign_in_in_wechat(page, "会算账的读者")
    reader_id = _give_points(live_app, 1500)

    page.goto(f"/p/{slug}")
    expect(page.locator(".product-meta [data-offer]")).to_have_text("¥79")
    expect(page.locator(".product-meta .price-was")).to_contain_text("¥99")
    countdown = page.locator("[data-offer-banner] .countdown")
    expect(countdown).to_have_text(re.compile(r"^还剩 [12] 天 \d\d:\d\d:\d\d$"))
    first = countdown.inner_text()
    expect(countdown).not_to_have_text(first, timeout=3000)  # it ticks
    assert_fits_phone(page)
    screenshot(page, "prices-item-offer")

    page.locator(".buybar").get_by_role("link", name="立即购买").click()
    page.wait_for_url(f"**/p/{slug}/buy")
    assert _lines(page) == [("原价", "¥99"), ("限时优惠", "-¥20"), ("应付", "¥79")]

    page.get_by_label("优惠码").fill("e2esave")
    page.get_by_role("button", name="使用", exact=True).click()
    expect(page.locator("[data-total]")).to_have_text("¥69")
    page.get_by_role("link", name="用 1500 积分抵扣 ¥15").click()
    expect(page.locator("[data-total]")).to_have_text("¥54")
    assert _lines(page) == [
        ("原价", "¥99"),
        ("限时优惠", "-¥20"),
        ("优惠券 E2ESAVE", "-¥10"),
        ("积分抵扣（1500 积分）", "-¥15"),
        ("应付", "¥54"),
    ]
    assert_fits_phone(page)
    screenshot(page, "prices-confirm-offer-coupon-points")

    page.get_by_role("button", name="微信支付 ¥54").click()
    page.wait_for_url(ORDER_URL)
    expect(page.locator(".pay-amount")).to_have_text("¥54")
    page.get_by_role("button", name="确认支付 ¥54").click()
    sheet = page.locator("[data-sandbox-pay-sheet]")
    expect(sheet).to_contain_text("¥54")  # WeChat is asked for exactly the total
    sheet.get_by_role("button", name="支付", exact=True).click()
    page.wait_for_url(f"**/p/{slug}/read", timeout=PAID_WITHIN_MS)

    with live_app.app_context():
        order = db.session.scalar(
            sa.select(Order).where(Order.reader_id == reader_id).order_by(Order.id.desc())
        )
        assert (order.amount_fen, order.list_price_fen, order.points_spent) == (5400, 9900, 1500)
        assert [line["kind"] for line in order.price_lines] == [
            "list",
            "offer",
            "coupon",
            "points",
        ]
        assert points.balance(reader_id) == 54  # all 1500 spent; ¥54 paid earned 54
        db.session.remove()
