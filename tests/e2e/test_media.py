"""Audio and video lessons in a real browser: the creator uploads a video in the studio (in
chunks, with a progress bar), the worker turns it into encrypted HLS, and a buyer's phone
plays it (past six seconds: a resume nearer the start than five is not offered); the same
buyer on another device resumes where they stopped.

The course, its buyer and their sessions are this test's own, made in the live shop.
"""

import re

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # conftest skips these tests (or fails them under REQUIRE_BROWSER=1)
    expect = None

from app.catalog import editing
from app.extensions import db
from app.media import queue
from app.models import Product
from app.transactions import begin_write
from tests import factories
from tests.conftest import sign_in_as
from tests.e2e.conftest import browser_context, close_context, log_in_to_studio
from tests.media.helpers import course, make_video

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


@pytest.fixture
def lesson(live_app):
    """This test's course and its buyer, withdrawn afterwards: the other browser tests expect
    the demo's items alone on the shop's pages."""
    found = _course_and_buyer(live_app)
    yield found
    with live_app.app_context():
        begin_write()
        editing.unpublish(db.session.get(Product, found["product_id"]))
        db.session.commit()
        db.session.remove()


def _course_and_buyer(app) -> dict:
    with app.app_context():
        begin_write()
        item = course()
        buyer = factories.reader(openid="o-e2e-listener", nickname="听课的读者")
        factories.give(buyer, item)
        db.session.commit()
        found = {
            "product_id": item.id,
            "section_id": item.sections[1].id,
            "lesson": f"/p/{item.slug}/s/2",
            "buyer": buyer.id,
        }
        db.session.remove()
    return found


def _signed_in(browser, app, base_url: str, reader_id: int):
    """A new browser context with a session of its own for the reader (another device)."""
    client = app.test_client()
    sign_in_as(app, client, reader_id)
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    context, errors = browser_context(browser, base_url, locale="zh-CN", **PHONE)
    context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": base_url}])
    return context, errors


PLAY_PAST = """async (seconds) => {
  const media = document.querySelector('[data-player] video, [data-player] audio');
  media.muted = true;
  await media.play();
  await new Promise((done) => {
    const check = () => {
      if (media.currentTime > seconds) { media.removeEventListener('timeupdate', check); done(); }
    };
    media.addEventListener('timeupdate', check);
  });
  media.pause();
  return media.currentTime;
}"""


RESUMED_AT = """async () => {
  const media = document.querySelector('[data-player] video');
  for (let waited = 0; media.currentTime < 1 && waited < 10000; waited += 100) {
    await new Promise((done) => setTimeout(done, 100));
  }
  return media.currentTime;
}"""


def test_upload_process_and_play_on_a_phone_then_resume_elsewhere(
    browser, live_app, live_server, desktop, creator_login, lesson, tmp_path
):
    studio_path = f"/studio/products/{lesson['product_id']}/sections/{lesson['section_id']}"

    studio = desktop.new_page()
    log_in_to_studio(studio, creator_login, studio_path)
    studio.locator("[data-media-file]").set_input_files(make_video(tmp_path, seconds=20))
    expect(studio.locator("[data-media-message]")).to_contain_text("上传完成", timeout=30_000)
    with live_app.app_context():  # the worker, as `flask shop media-worker` runs it
        assert queue.work(live_app.config, stop_when_idle=True) == 1
        db.session.remove()
    expect(studio.locator("[data-media-row]").first).to_contain_text("可播放", timeout=15_000)

    phone, phone_errors = _signed_in(browser, live_app, live_server, lesson["buyer"])
    page = phone.new_page()
    page.goto(lesson["lesson"])
    player = page.locator("[data-player]")
    expect(player).to_have_class(re.compile(r"\bis-ready\b"))
    expect(player.locator("[data-mark]")).to_have_text(f"读者 {lesson['buyer']}")
    played_to = page.evaluate(PLAY_PAST, 6.5)
    assert played_to > 6
    speed = page.get_by_role("button", name="1.5×")
    speed.click()
    expect(speed).to_have_attribute("aria-pressed", "true")
    assert page.evaluate("document.querySelector('[data-player] video').playbackRate") == 1.5
    # Pausing reported the position; the reports are in before the page is left.
    page.wait_for_timeout(500)
    close_context(phone, phone_errors)

    other, other_errors = _signed_in(browser, live_app, live_server, lesson["buyer"])
    page = other.new_page()
    page.goto(lesson["lesson"])
    expect(page.locator("[data-resume]")).to_contain_text("上次听到 0:06")
    assert page.evaluate(RESUMED_AT) >= 6
    page.goto(lesson["lesson"].rsplit("/s/", 1)[0])  # the course page counts finished lessons
    expect(page.locator("[data-course-summary]")).to_have_text("音视频课时已学完 0 / 1")
    close_context(other, other_errors)


DEMO_AUDIO_LESSON = "/p/product-thinking-101/s/1"  # the demo's free audio lesson


def test_audio_goes_on_docked_while_the_reader_browses(safari):
    page = safari.new_page()
    page.goto(DEMO_AUDIO_LESSON)
    expect(page.locator("[data-player]")).to_have_class(re.compile(r"\bis-ready\b"))
    assert page.evaluate(PLAY_PAST, 6.5) > 6
    page.evaluate("document.querySelector('[data-player] audio').play()")  # still playing
    page.get_by_role("link", name="首页").click()
    dock = page.get_by_role("complementary", name="正在播放")
    expect(dock).to_be_visible()
    expect(dock.get_by_role("link")).to_have_text("第 1 课：需求不等于问题")
    expect(dock.locator("[data-player]")).to_have_class(re.compile(r"\bis-ready\b"))
    assert page.evaluate(DOCKED_AT) >= 6  # it goes on from where the lesson page was
    dock.get_by_role("button", name="关闭播放器").click()
    expect(dock).to_have_count(0)
    page.get_by_role("link", name="发现").click()
    expect(page.locator(".mini-player")).to_have_count(0)


DOCKED_AT = """async () => {
  const media = document.querySelector('.mini-player audio');
  for (let waited = 0; media.currentTime < 1 && waited < 10000; waited += 100) {
    await new Promise((done) => setTimeout(done, 100));
  }
  return media.currentTime;
}"""
