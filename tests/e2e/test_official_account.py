"""The 公众号 in a real browser at 390 px: the creator pushes the menu from the studio's
公众号菜单 page, then, on the sandbox's follower page, a developer plays a new follower who
follows, presses 知识付费 and gets the latest items as cards, and opens the sub-menu.

The follower is a new sandbox user, so the other e2e tests see the demo readers unchanged;
the pushed menu is the default one, which nothing else reads.
"""

import re

try:
    from playwright.sync_api import expect
except ImportError:  # conftest skips these tests (or fails them under REQUIRE_BROWSER=1)
    expect = None

from app.demo import content
from tests.e2e.conftest import assert_fits_phone, assert_on_screen, log_in_to_studio

DEMO_TITLES = {product["title"] for product in content.PRODUCTS}


def test_push_the_menu_then_follow_and_press_it(safari, creator_login, screenshot):
    page = safari.new_page()
    log_in_to_studio(page, creator_login, "/studio/wechat/menu")
    page.get_by_role("button", name="推送到微信").click()
    expect(page.locator(".flash-info")).to_contain_text("菜单已推送")
    expect(page.locator("[data-in-step]")).to_be_visible()
    assert_fits_phone(page)
    screenshot(page, "phone-studio-oa-menu")

    page.get_by_role("link", name=re.compile("在沙箱里扮演粉丝")).click()
    page.get_by_label("或新建测试用户").fill("e2e 粉丝")
    page.get_by_role("button", name="开始").click()
    expect(page.locator("[data-standing]")).to_have_text("未关注")

    page.get_by_role("button", name="关注公众号").click()
    expect(page.locator("[data-standing]")).to_contain_text("已关注")
    welcome = page.locator("[data-exchange]").last
    expect(welcome).to_contain_text("关注了公众号")
    expect(welcome.locator("[data-card]").first).to_be_visible()

    page.get_by_role("button", name="知识付费").click()
    latest = page.locator("[data-exchange]").last
    expect(latest).to_contain_text("点击菜单「知识付费」")
    cards = latest.locator("[data-card]")
    expect(cards).to_have_count(8)  # WeChat's most for an answer to an event
    titles = latest.locator("[data-card-title]").all_inner_texts()
    assert set(titles) <= DEMO_TITLES, titles
    expect(cards.first.locator("img")).to_be_visible()
    assert_fits_phone(page)

    page.locator("summary", has_text="其他菜单").click()
    about = page.get_by_role("button", name="关于我们")
    expect(about).to_be_visible()
    assert_on_screen(about)
    screenshot(page, "phone-sandbox-follower")

    href = cards.first.get_attribute("href")
    cards.first.click()
    page.wait_for_url(href)
    expect(page.locator("h1").first).to_contain_text(titles[0])
