"""Recommendation slots in a real browser: shown on the home and product pages of the demo
shop, followed by a click that carries the slot, and a fit on a 390 px phone."""

import re

try:
    from playwright.sync_api import expect
except ImportError:  # conftest skips these tests (or fails them under REQUIRE_BROWSER=1)
    expect = None

from tests.e2e.conftest import assert_fits_phone


def test_a_stranger_follows_a_popular_item_then_what_its_buyers_also_bought(safari, screenshot):
    page = safari.new_page()
    page.goto("/")
    slot = page.locator('[data-slot="popular"]')
    expect(slot.locator("h2")).to_have_text("大家都在看")
    cards = slot.locator("a.card")
    expect(cards.first).to_be_visible()
    assert cards.count() >= 2
    assert_fits_phone(page)

    cards.first.click()
    expect(page).to_have_url(re.compile(r"/p/[\w-]+\?ref=popular$"))
    also = page.locator('[data-slot="also_bought"]')
    expect(also.locator("h2")).to_have_text("买了这个的读者也买了")
    expect(also.locator("a.card").first).to_have_attribute("href", re.compile(r"ref=also_bought"))
    assert_fits_phone(page)
    screenshot(page, "recs-phone-product")
