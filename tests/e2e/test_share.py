"""Sharing in a real browser at 390 px inside WeChat: the page configures its share cards
through the JS-SDK (the sandbox's stand-in checks wx.config's signature as WeChat does), the
cards carry the reader's code, and the share page's poster holds a QR code a camera reads,
which opens the 公众号's 带参数二维码 for this item and sharer."""

import io
import re
from urllib.parse import parse_qs, urlsplit

try:
    from playwright.sync_api import expect
except ImportError:  # conftest skips these tests (or fails them under REQUIRE_BROWSER=1)
    expect = None

from tests.e2e.conftest import assert_fits_phone, sign_in_in_wechat

ITEM = "product-thinking-101"


def test_share_cards_and_the_poster_inside_wechat(phone, desktop, screenshot):
    page = phone.new_page()
    sign_in_in_wechat(page, "爱分享的读者")
    page.goto(f"/p/{ITEM}")
    expect(page.locator("html[data-share-ready]")).to_be_attached()  # wx.config was accepted

    page.get_by_role("button", name="分享（沙箱）").click()
    sheet = page.locator("[data-sandbox-share-sheet]")
    friend_card = sheet.locator('[data-share-card="friend"]')
    expect(friend_card).to_contain_text("产品")
    link = friend_card.locator("a").get_attribute("href")
    tags = parse_qs(urlsplit(link).query)
    assert urlsplit(link).path == f"/p/{ITEM}" and tags["via"] == ["share"] and tags["by"]
    expect(sheet.locator('[data-share-card="timeline"] a')).to_have_attribute("href", link)
    sheet.get_by_role("button", name="取消").click()

    page.get_by_role("link", name="分享海报").click()
    poster = page.locator("img[data-poster]")
    expect(poster).to_be_visible()
    page.wait_for_load_state("load")  # the poster image is drawn and loaded
    assert_fits_phone(page)
    screenshot(page, "share-poster-390")
    expect(page.locator("#share-link")).to_have_value(re.compile(r"via=share&by="))

    import zxingcpp
    from PIL import Image

    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(poster.screenshot())))
    assert len(found) == 1, "the poster's QR code reads off the screen"
    scanned = desktop.new_page()
    scanned.goto(urlsplit(found[0].text).path)
    expect(scanned.locator("[data-scene]")).to_contain_text(tags["by"][0])
