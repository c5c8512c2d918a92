"""The studio's Markdown editor in a real browser: typing updates the live preview, the
marker button splits free from paid, at 390 px (no sideways scroll) and on a desktop.

The creator's pages are behind a login. The demo seed makes the creator "demo" with a random
password it returns, which the live_app fixture does not keep; so this module adds a creator
of its own to the demo shop. It only saves drafts, which no reader sees, so the other e2e
tests find the demo shop unchanged.
"""

try:
    from playwright.sync_api import expect
except ImportError:  # conftest skips these tests (or fails them under REQUIRE_BROWSER=1)
    expect = None

from tests.e2e.conftest import assert_fits_phone


def _log_in(page, creator_login) -> None:
    username, password = creator_login
    page.goto("/creator/login?next=/studio/products")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name="内容管理")).to_be_visible()


def _write_with_marker(page, free_words: str, paid_words: str) -> None:
    """Type like a person: a heading and a paragraph, the marker from its button, the rest."""
    source = page.locator("[data-md-source]")
    source.click()
    source.press_sequentially(f"## {free_words}\n\n**开头**的试读。", delay=10)
    preview_free = page.locator("[data-preview-free]")
    # An article without a marker is all paid: the preview says so before the marker exists.
    expect(page.locator("[data-preview-note]")).to_be_visible()
    expect(page.locator("[data-preview-paid] h2")).to_have_text(free_words)

    page.get_by_role("button", name="插入试读分隔线").click()
    source.press_sequentially(f"\n{paid_words}", delay=10)
    expect(preview_free.locator("h2")).to_have_text(free_words)
    expect(preview_free.locator("strong")).to_have_text("开头")
    expect(page.locator("[data-preview-divider]")).to_be_visible()
    expect(page.locator("[data-preview-paid]")).to_contain_text(paid_words)
    expect(page.locator("[data-preview-note]")).to_be_hidden()
    assert "\n<!--more-->\n" in source.input_value()


def test_the_live_preview_on_a_phone(safari, creator_login):
    page = safari.new_page()
    _log_in(page, creator_login)
    page.get_by_role("link", name="新建图文").click()
    page.get_by_role("textbox", name="标题", exact=True).fill("手机上写的文章")
    page.get_by_label("价格").fill("9.9")
    _write_with_marker(page, "手机小标题", "买家才看得到的段落")
    assert_fits_phone(page)
    # Free for everyone at price 0: the preview follows the price as it is typed.
    page.get_by_label("价格").fill("0")
    expect(page.locator("[data-preview-note]")).to_contain_text("免费内容")
    expect(page.locator("[data-preview-divider]")).to_be_hidden()
    page.get_by_label("价格").fill("9.9")
    expect(page.locator("[data-preview-divider]")).to_be_visible()

    page.get_by_role("button", name="保存草稿").click()
    expect(page.locator(".flash")).to_contain_text("已保存草稿")
    # The saved text comes back into the editor, and its preview is rendered on load.
    expect(page.locator("[data-preview-free] h2")).to_have_text("手机小标题")
    expect(page.locator("[data-preview-paid]")).to_contain_text("买家才看得到的段落")
    assert_fits_phone(page)


def test_the_live_preview_beside_the_text_on_a_desktop(desktop, creator_login):
    page = desktop.new_page()
    _log_in(page, creator_login)
    page.get_by_role("link", name="新建课程").click()
    source = page.locator("[data-md-source]")
    source.click()
    source.press_sequentially(
        "课程介绍里有一张表：\n\n| 周 | 内容 |\n| - | - |\n| 1 | 入门 |", delay=5
    )
    # A course's introduction is public: no divider until a marker asks for one.
    expect(page.locator("[data-preview-free] table td").first).to_have_text("1")
    expect(page.locator("[data-preview-divider]")).to_be_hidden()

    text_box = source.bounding_box()
    preview_box = page.locator(".md-preview").bounding_box()
    assert preview_box["x"] >= text_box["x"] + text_box["width"], "the preview is not beside"
    assert abs(preview_box["y"] - text_box["y"]) < 60
