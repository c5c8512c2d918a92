"""A reader's walk through the demo shop in a real browser, on a desktop and in WeChat."""

import re

try:
    from playwright.sync_api import expect
except ImportError:  # conftest skips these tests (or fails them under REQUIRE_BROWSER=1)
    expect = None

from app.demo import content
from app.money import format_fen
from tests.e2e.conftest import assert_fits_phone


def _product(slug: str) -> dict:
    return next(p for p in content.PRODUCTS if p["slug"] == slug)


def _split(body_md: str) -> tuple[str, str]:
    before, _, after = body_md.partition(content.PREVIEW_MARKER)
    assert after, "the demo product lost its preview marker"
    return before, after


# A paid article, its free preview and two sentences only buyers may see.
PAID = _product("first-1000-readers")
PREVIEW_SENTENCE = "结果这个目标花了我 22 个月。"
PAID_SENTENCES = ("上线第一周卖出 11 份，其中 6 份是朋友买的。", "最贵的学费不是买错了课")

COURSE = _product("product-thinking-101")
FREE_LESSONS = [s for s in COURSE["sections"] if s["is_free"]]
LOCKED_LESSON = next(s for s in COURSE["sections"] if not s["is_free"])

# A demo reader who owns things; the sandbox has a WeChat user of the same nickname.
READER = next(r for r in content.READERS if r["nickname"] == "橙子")
OWNED_ARTICLE = _product("pricing-your-knowledge")
OWNED_ARTICLE_PAID_SENTENCE = "我的「产品思维入门」课，制作花了大约 120 小时"
NOT_OWNED = PAID

SEARCH_WORD = "写作"

# In sandbox mode the shop drops WeChat's #wechat_redirect from the authorize URL, so no
# fragment follows the reader back to the shop.
HOME_URL = re.compile(r"^http://127\.0\.0\.1:\d+/$")
SEARCH_URL = re.compile(r"^http://127\.0\.0\.1:\d+/search$")


def assert_covers_show_as_webp(page, at_least: int = 1) -> None:
    """Every cover on the page (after `screenshot` scrolled through the lazy ones) loaded, and
    from one of its WebP sizes."""
    covers = page.evaluate(
        """() => [...document.querySelectorAll("img.card-cover, img.product-cover")].map(
            (img) => ({src: img.currentSrc, width: img.naturalWidth, done: img.complete}))"""
    )
    assert len(covers) >= at_least
    for cover in covers:
        assert cover["done"] and cover["width"] > 0, cover
        assert re.search(r"/media/covers/\S+-(240|360|720)\.webp$", cover["src"]), cover


def test_demo_content_still_matches_these_tests():
    """The sentences below are picked from app/demo/content.py; fail clearly if it drifts."""
    assert PAID["kind"] == "article" and PAID["price_fen"] > 0
    preview, paid = _split(PAID["body_md"])
    assert PREVIEW_SENTENCE in preview
    assert all(s in paid and s not in preview for s in PAID_SENTENCES)
    assert FREE_LESSONS and not LOCKED_LESSON["is_free"]
    assert OWNED_ARTICLE["slug"] in READER["owns"] and NOT_OWNED["slug"] not in READER["owns"]
    assert OWNED_ARTICLE_PAID_SENTENCE in _split(OWNED_ARTICLE["body_md"])[1]


def _first_line(section: dict, length: int = 16) -> str:
    return section["body_md"].split("\n")[0][:length]


def test_desktop_home_product_paywall_and_course(desktop, screenshot):
    page = desktop.new_page()
    page.goto("/")
    expect(page.locator(".hero h1")).to_have_text(content.SHOP["name"])
    expect(page.locator(".sandbox-banner")).to_contain_text("沙箱模式")
    expect(page.get_by_role("heading", name="精选推荐")).to_be_visible()
    expect(page.get_by_role("heading", name="最新上架")).to_be_visible()
    expect(page.locator(".topnav")).to_be_visible()
    expect(page.locator(".tabbar")).to_be_hidden()  # the phone's tab bar, not on a desktop
    screenshot(page, "desktop-home")
    assert_covers_show_as_webp(page, at_least=6)

    # A paid article: price, free preview, paywall and buy link, and no paid text anywhere.
    page.locator(f'a.card[href="/p/{PAID["slug"]}"]').first.click()
    page.wait_for_url(f"**/p/{PAID['slug']}")
    expect(page.locator(".product-head h1")).to_contain_text(PAID["title"])
    expect(page.locator(".product-meta .price")).to_have_text(format_fen(PAID["price_fen"]))
    expect(page.locator(".prose.preview")).to_contain_text(PREVIEW_SENTENCE)
    expect(page.locator("#paywall .paywall-title")).to_have_text("以下为付费内容")
    buy = page.locator(f'#paywall a[href="/p/{PAID["slug"]}/buy"]')
    expect(buy).to_be_visible()
    expect(buy).to_contain_text(format_fen(PAID["price_fen"]))
    html = page.content()
    for sentence in PAID_SENTENCES:
        assert sentence not in html
    screenshot(page, "desktop-product")
    assert_covers_show_as_webp(page)

    # The reading page itself refuses a visitor who has not bought.
    response = page.goto(f"/p/{PAID['slug']}/read")
    assert response.status == 403
    expect(page.locator(".paywall-title")).to_contain_text("购买后即可阅读")
    expect(page.locator(f'a.button-buy[href="/p/{PAID["slug"]}/buy"]')).to_be_visible()
    html = page.content()
    for sentence in PAID_SENTENCES:
        assert sentence not in html
    screenshot(page, "desktop-read-paywall")

    # A course: its table of contents marks the free lessons 试看 and locks the rest.
    page.goto(f"/p/{COURSE['slug']}")
    toc = page.locator(".toc-list li")
    expect(toc).to_have_count(len(COURSE["sections"]))
    expect(page.locator(".toc-list .badge-free")).to_have_count(len(FREE_LESSONS))
    for lesson in FREE_LESSONS:
        expect(toc.filter(has_text=lesson["title"]).locator(".badge-free")).to_have_text("试看")
    expect(toc.filter(has_text=LOCKED_LESSON["title"]).locator(".lock")).to_be_visible()
    assert _split(COURSE["body_md"])[1].strip()[:12] not in page.content()
    screenshot(page, "desktop-course")

    toc.filter(has_text=FREE_LESSONS[0]["title"]).locator("a").click()
    page.wait_for_url(f"**/p/{COURSE['slug']}/s/1")
    expect(page.locator(".reader h1")).to_have_text(FREE_LESSONS[0]["title"])
    expect(page.locator(".reader .prose")).to_contain_text(_first_line(FREE_LESSONS[0]))
    expect(page.locator(".reader .muted").first).to_contain_text("试看")
    screenshot(page, "desktop-lesson-free")

    page.go_back()
    with page.expect_response(re.compile(r"/s/\d+$")) as answer:
        toc.filter(has_text=LOCKED_LESSON["title"]).locator("a").click()
    assert answer.value.status == 403
    expect(page.locator(".reader h1")).to_have_text(LOCKED_LESSON["title"])
    expect(page.locator(".paywall-title")).to_contain_text("购买后即可阅读")
    assert _first_line(LOCKED_LESSON) not in page.content()
    screenshot(page, "desktop-lesson-locked")


def test_phone_in_wechat_signs_in_and_reads_what_was_bought(phone, screenshot):
    page = phone.new_page()
    # The first page inside WeChat goes silently through OAuth; the sandbox asks who we are.
    page.goto("/")
    expect(page.get_by_role("heading", name="选择沙箱中的微信用户")).to_be_visible()
    assert "/sandbox/open/connect/oauth2/authorize" in page.url
    assert_fits_phone(page)
    choice = page.locator("label.wx-choice", has_text=READER["nickname"])
    choice.click()
    expect(choice.locator("input[type=radio]")).to_be_checked()
    screenshot(page, "phone-sandbox-authorize")
    page.get_by_role("button", name="允许").click()

    page.wait_for_url(HOME_URL)
    expect(page.locator(".hero h1")).to_have_text(content.SHOP["name"])
    tabbar = page.locator("nav.tabbar")
    expect(tabbar).to_be_visible()
    expect(page.locator(".topnav")).to_be_hidden()
    screenshot(page, "phone-home")
    assert_fits_phone(page)
    assert_covers_show_as_webp(page, at_least=6)

    tabbar.get_by_role("link", name="已购", exact=True).click()
    page.wait_for_url("**/library")
    items = page.locator(".library-item")
    expect(items).to_have_count(len(READER["owns"]))
    for slug in READER["owns"]:
        expect(items.filter(has_text=_product(slug)["title"])).to_be_visible()
    expect(tabbar.locator("a.active")).to_contain_text("已购")
    screenshot(page, "phone-library")
    assert_fits_phone(page)

    items.filter(has_text=OWNED_ARTICLE["title"]).locator("a").click()
    page.wait_for_url(f"**/p/{OWNED_ARTICLE['slug']}")
    expect(page.locator(".buybar .price-owned")).to_have_text("已购")
    expect(page.locator("#paywall")).to_have_count(0)
    screenshot(page, "phone-product-owned")
    assert_fits_phone(page)

    page.locator(".buybar").get_by_role("link", name="阅读全文").click()
    page.wait_for_url(f"**/p/{OWNED_ARTICLE['slug']}/read")
    expect(page.locator(".reader .prose")).to_contain_text(OWNED_ARTICLE_PAID_SENTENCE)
    screenshot(page, "phone-read")
    assert_fits_phone(page)

    # Something this reader has not bought still meets the paywall.
    page.goto(f"/p/{NOT_OWNED['slug']}")
    expect(page.locator("#paywall .paywall-title")).to_have_text("以下为付费内容")
    expect(page.locator(".buybar").get_by_role("link", name="立即购买")).to_be_visible()
    html = page.content()
    for sentence in PAID_SENTENCES:
        assert sentence not in html
    screenshot(page, "phone-paywall")
    assert_fits_phone(page)

    response = page.goto(f"/p/{NOT_OWNED['slug']}/read")
    assert response.status == 403
    expect(page.locator(".paywall-title")).to_contain_text("购买后即可阅读")
    screenshot(page, "phone-read-paywall")
    assert_fits_phone(page)


def test_phone_search_finds_products_by_chinese_word(phone, screenshot):
    expected = [
        p
        for p in content.PRODUCTS
        if p["status"] == "published" and SEARCH_WORD in p["title"] + p["summary"]
    ]
    hidden = [
        p for p in content.PRODUCTS if p["status"] != "published" and SEARCH_WORD in p["title"]
    ]
    assert expected, f"no published demo product mentions {SEARCH_WORD}"

    page = phone.new_page()
    page.goto("/search")
    # A reader may decline WeChat's authorisation and keep browsing as a guest.
    expect(page.get_by_role("heading", name="选择沙箱中的微信用户")).to_be_visible()
    page.get_by_role("button", name="拒绝").click()
    page.wait_for_url(SEARCH_URL)
    expect(page.locator(".flash")).to_contain_text("取消了微信授权")

    box = page.get_by_role("searchbox", name="搜索关键词")
    box.fill(SEARCH_WORD)
    box.press("Enter")
    page.wait_for_url(re.compile(r"/search\?q="))
    expect(page.locator(".page > p.muted")).to_have_text(f"找到 {len(expected)} 个结果")
    cards = page.locator(".cards .card")
    expect(cards).to_have_count(len(expected))
    for product in expected:
        expect(cards.filter(has_text=product["title"])).to_be_visible()
    for draft in hidden:
        expect(page.get_by_text(draft["title"])).to_have_count(0)
    expect(page.locator("nav.tabbar a.active")).to_contain_text("发现")
    screenshot(page, "phone-search")
    assert_fits_phone(page)


def test_desktop_sanitizer_holds_in_a_real_browser(desktop, screenshot):
    page = desktop.new_page()
    dialogs: list[str] = []

    def record(dialog):
        dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", record)
    for path, name in (
        ("/p/welcome-start-here", "desktop-sanitizer-product"),
        ("/p/welcome-start-here/read", "desktop-sanitizer-read"),
    ):
        response = page.goto(path, wait_until="load")
        assert response.status == 200
        prose = page.locator(".prose").filter(has_text="安全测试示例")
        expect(prose).to_have_count(1)
        # The dangerous markup is shown as harmless text, never as elements.
        expect(prose).to_contain_text("<script>alert('x')</script>")
        assert page.locator(".prose script").count() == 0
        assert page.locator(".prose [onerror]").count() == 0
        assert page.locator('a[href^="javascript:" i]').count() == 0
        page.wait_for_timeout(300)  # give a late onerror or timer a chance to fire
        screenshot(page, name)
    assert dialogs == []
