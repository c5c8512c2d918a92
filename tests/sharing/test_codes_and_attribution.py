"""Sharer codes, poster scenes and the last-touch rule, directly."""

from datetime import UTC, datetime, timedelta

from app.models import OrderSource
from app.payments.attribution import DIRECT, Attribution, Touch, attribution_for, touch_from_link
from app.readers.sharer_codes import sharer_code, sharer_id
from app.wechat.scenes import Scene, parse_scene

SECRET = "test-secret"
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
WEEK = timedelta(days=7)


def test_a_code_names_its_reader_and_nobody_can_make_one_for_another():
    for reader_id in (1, 35, 36, 10**9):
        assert sharer_id(SECRET, sharer_code(SECRET, reader_id)) == reader_id
    code = sharer_code(SECRET, 42)
    forged = sharer_code(SECRET, 43).split(".")[0] + "." + code.split(".")[1]
    assert sharer_id(SECRET, forged) is None  # another id with this tag
    assert sharer_id("another-secret", code) is None  # another shop's code
    for junk in (None, "", "42", "abc.def", code + "x", "💥.aaaaaaaa", code.upper()):
        assert sharer_id(SECRET, junk) is None


def test_a_scene_carries_the_item_and_the_code_and_fits_wechat():
    code = sharer_code(SECRET, 10**9)
    scene = Scene(123456, code)
    assert len(str(scene)) <= 64 and parse_scene(str(scene)) == scene
    assert parse_scene("i7") == Scene(7, None)
    for junk in (None, "", "x7", "i", "i7x", "qrscene_i7"):
        assert parse_scene(junk) is None


def test_the_last_touch_within_the_window_is_credited():
    touch = touch_from_link("share", 5, NOW - timedelta(days=6))
    assert attribution_for(touch, 9, NOW, WEEK) == Attribution(OrderSource.SHARE, 5)
    stale = touch_from_link("share", 5, NOW - timedelta(days=8))
    assert attribution_for(stale, 9, NOW, WEEK) == DIRECT
    assert attribution_for(None, 9, NOW, WEEK) == DIRECT


def test_a_reader_is_never_their_own_sharer_and_only_shares_carry_one():
    own = touch_from_link("poster", 9, NOW)
    assert attribution_for(own, 9, NOW, WEEK) == Attribution(OrderSource.POSTER, None)
    menu = touch_from_link("menu", 5, NOW)
    assert attribution_for(menu, 9, NOW, WEEK) == Attribution(OrderSource.MENU, None)
    assert touch_from_link("direct", None, NOW) is None
    assert touch_from_link("timeline", None, NOW) is None  # WeChat's own ?from= words


def test_a_touch_read_back_from_a_cookie_is_checked():
    touch = touch_from_link("share", 5, NOW)
    assert Touch.from_cookie(touch.to_cookie()) == touch
    for junk in (None, "x", [], ["share", 5], ["direct", None, 1], ["share", "5", 1], ["x", 1, 1]):
        assert Touch.from_cookie(junk) is None
    assert Touch.from_cookie(["share", None, 10**20]) is None  # a time no clock has
