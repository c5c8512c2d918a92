"""Who gets what of a media: a buyer the playlists, the key and the segments; a free 试看
lesson anyone; a paid one's preview only its first seconds; everybody else nothing, at any
address a buyer's page or playlists contain, and nobody the original upload."""

import re
import time
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask import current_app

from app.extensions import db
from app.media import delivery, storage
from app.models import Entitlement, Media
from tests import factories
from tests.conftest import sign_in_as
from tests.media.helpers import course, processed


@pytest.fixture
def lesson(app, samples):
    """A course whose paid second lesson is audio; its buyer and a reader who did not buy."""
    with app.app_context():
        item = course()
        media = processed(item, samples["audio"], item.sections[1])
        buyer, other = factories.reader(openid="o-buyer"), factories.reader(openid="o-other")
        factories.give(buyer, item)
        db.session.commit()
        return {"slug": item.slug, "media_id": media.id, "buyer": buyer.id, "other": other.id}


def _client(app, reader_id=None):
    client = app.test_client()
    if reader_id is not None:
        sign_in_as(app, client, reader_id)
    return client


def _addresses(text: str) -> list[str]:
    """Every address a playlist names: its lines and its key's URI."""
    found = re.findall(r'URI="([^"]+)"', text)
    found += [line for line in text.splitlines() if line and not line.startswith("#")]
    return found


def _everything_a_buyer_gets(client, lesson) -> dict[str, list[str]]:
    page = client.get(f"/p/{lesson['slug']}/s/2").get_data(as_text=True)
    master_url = re.search(r'data-src="([^"]+)"', page).group(1)
    master = client.get(master_url)
    renditions = _addresses(master.get_data(as_text=True))
    playlist = client.get(renditions[0]).get_data(as_text=True)
    addresses = _addresses(playlist)
    return {
        "page": [master_url, re.search(r'data-state="([^"]+)"', page).group(1)],
        "renditions": renditions,
        "key": [a for a in addresses if "/key?" in a],
        "segments": [a for a in addresses if "/key?" not in a],
    }


def test_a_buyer_plays_the_whole_lesson(app, lesson):
    buyer = _client(app, lesson["buyer"])
    page = buyer.get(f"/p/{lesson['slug']}/s/2")
    assert page.status_code == 200 and b"data-player" in page.data
    got = _everything_a_buyer_gets(buyer, lesson)
    master = buyer.get(got["page"][0])
    assert master.headers["Content-Type"].startswith("application/vnd.apple.mpegurl")
    assert "no-store" in master.headers["Cache-Control"]
    assert b"#EXT-X-STREAM-INF:BANDWIDTH=" in master.data
    key = buyer.get(got["key"][0])
    assert key.status_code == 200 and "no-store" in key.headers["Cache-Control"]
    with app.app_context():
        media = db.session.get(Media, lesson["media_id"])
        assert key.data == bytes.fromhex(media.key_hex)
        folder = storage.published(current_app.config["UPLOAD_FOLDER"], media.id)
    assert len(got["segments"]) == 3  # 9 seconds in 4-second segments
    for address in got["segments"]:
        name = urlsplit(address).path.rsplit("/", 1)[1]
        with buyer.get(address) as segment:
            assert segment.status_code == 200
            assert segment.data == (folder / "audio" / name).read_bytes()
    state = buyer.get(got["page"][1]).get_json()
    assert state["access"] == "full" and state["duration_ms"] == 9000 and state["csrf_token"]
    assert "watermark" not in state  # audio: nothing to draw on


def test_nobody_else_gets_anything_at_any_address_a_buyer_had(app, lesson):
    got = _everything_a_buyer_gets(_client(app, lesson["buyer"]), lesson)
    with app.app_context():
        original = storage.original(current_app.config["UPLOAD_FOLDER"], lesson["media_id"])
        original_bytes = original.read_bytes()
    for stranger in (_client(app, lesson["other"]), _client(app)):
        assert stranger.get(f"/p/{lesson['slug']}/s/2").status_code == 403
        for kind, addresses in got.items():
            for address in addresses:
                answer = stranger.get(address)
                assert answer.status_code == 403, (kind, address)
                assert answer.data != original_bytes
    # The original is at no address at all.
    buyer = _client(app, lesson["buyer"])
    for guess in (
        f"/play/{lesson['media_id']}/original",
        f"/play/{lesson['media_id']}/audio/../../../media-originals/{lesson['media_id']}",
        f"/media/covers/../../media-originals/{lesson['media_id']}",
    ):
        assert buyer.get(guess).status_code in (403, 404), guess


def test_a_signed_address_expires_and_cannot_be_changed(app, lesson):
    with app.app_context():
        media = db.session.get(Media, lesson["media_id"])
        signer = delivery.Signer(current_app.secret_key, "session")
        token = signer.sign(media, delivery.KEY_WHAT, 60)
        assert signer.valid(token, media, delivery.KEY_WHAT)
        assert not signer.valid(token, media, "segment:audio/seg_00000.ts")
        assert not delivery.Signer(current_app.secret_key, "another").valid(
            token, media, delivery.KEY_WHAT
        )
        later = time.time() + 61
        assert not signer.valid(token, media, delivery.KEY_WHAT, now=later)
        expires, mac = token.split(".")
        pushed = f"{int(expires) + 3600}.{mac}"  # a later end, same signature
        assert not signer.valid(pushed, media, delivery.KEY_WHAT)
        # A new media that got a deleted one's id (SQLite reuses the highest) has its own key.
        media.key_hex = "00" * 16
        assert not signer.valid(token, media, delivery.KEY_WHAT)
        db.session.rollback()

    buyer = _client(app, lesson["buyer"])
    key_address = _everything_a_buyer_gets(buyer, lesson)["key"][0]
    expired = re.sub(r"t=\d+", "t=1000", key_address)
    assert buyer.get(expired).status_code == 403
    # Tokens nobody made are refused, never a server error.
    base = key_address.split("?")[0]
    for forged in ("²³.abc", "9" * 5000 + ".x", "1.é", "", "1", ".", "99999999999.=" * 3):
        assert buyer.get(base, query_string={"t": forged}).status_code == 403, forged


def test_a_refund_stops_what_was_signed_before_it(app, lesson):
    buyer = _client(app, lesson["buyer"])
    got = _everything_a_buyer_gets(buyer, lesson)
    with app.app_context():
        db.session.execute(sa.delete(Entitlement).where(Entitlement.reader_id == lesson["buyer"]))
        db.session.commit()
    for address in got["segments"] + got["key"] + got["renditions"]:
        assert buyer.get(address).status_code == 403, address


def test_reports_must_be_whole_and_from_a_full_listener(app, lesson):
    buyer = _client(app, lesson["buyer"])
    token = buyer.get(f"/play/{lesson['media_id']}/state").get_json()["csrf_token"]
    url, headers = f"/play/{lesson['media_id']}/progress", {"X-CSRFToken": token}
    for body in ([1, 2], "text", {"position_ms": 1e400}, {"position_ms": "abc"}):
        assert buyer.post(url, json=body, headers=headers).status_code == 400, body
    with app.app_context():
        db.session.get(Media, lesson["media_id"]).preview_seconds = 4
        db.session.commit()
    other = _client(app, lesson["other"])
    token = other.get(f"/play/{lesson['media_id']}/state").get_json()["csrf_token"]
    answer = other.post(
        url, json={"position_ms": 9000, "ended": True}, headers={"X-CSRFToken": token}
    )
    assert answer.status_code == 403  # a preview counts toward nothing


def test_a_free_lesson_plays_for_anyone(app, samples):
    with app.app_context():
        item = course()
        media = processed(item, samples["audio"], item.sections[0])
        slug, media_id = item.slug, media.id
    visitor = app.test_client()
    page = visitor.get(f"/p/{slug}/s/1").get_data(as_text=True)
    assert f'data-src="/play/{media_id}.m3u8"' in page
    rendition = _addresses(visitor.get(f"/play/{media_id}.m3u8").get_data(as_text=True))[0]
    playlist = visitor.get(rendition).get_data(as_text=True)
    key = next(a for a in _addresses(playlist) if "/key?" in a)
    assert visitor.get(key).status_code == 200
    state = visitor.get(f"/play/{media_id}/state").get_json()
    assert state["access"] == "full" and not state["signed_in"] and "csrf_token" not in state


def test_a_preview_plays_only_its_first_seconds(app, lesson):
    with app.app_context():
        db.session.get(Media, lesson["media_id"]).preview_seconds = 4
        db.session.commit()
    buyer_segments = _everything_a_buyer_gets(_client(app, lesson["buyer"]), lesson)["segments"]
    other = _client(app, lesson["other"])
    page = other.get(f"/p/{lesson['slug']}/s/2")
    assert page.status_code == 403 and b"data-player" in page.data  # the paywall plays it
    state = other.get(f"/play/{lesson['media_id']}/state").get_json()
    assert state["access"] == "preview" and state["preview_ms"] == 4000
    master = other.get(f"/play/{lesson['media_id']}.m3u8").get_data(as_text=True)
    playlist = other.get(_addresses(master)[0]).get_data(as_text=True)
    segments = [a for a in _addresses(playlist) if "/key?" not in a]
    assert len(segments) == 1 and playlist.rstrip().endswith("#EXT-X-ENDLIST")
    with other.get(segments[0]) as first:
        assert first.status_code == 200
    # The rest of the lesson: not at the buyer's addresses, nor at its own names re-signed.
    for address in buyer_segments[1:]:
        assert other.get(address).status_code == 403
    second = segments[0].replace("seg_00000.ts", "seg_00001.ts")
    assert other.get(second).status_code == 403


def test_playing_on_one_device_resumes_on_another(app, lesson):
    phone, desktop = _client(app, lesson["buyer"]), _client(app, lesson["buyer"])
    token = phone.get(f"/play/{lesson['media_id']}/state").get_json()["csrf_token"]
    answer = phone.post(
        f"/play/{lesson['media_id']}/progress",
        json={"position_ms": 6000, "played_ms": 6000},
        headers={"X-CSRFToken": token},
    )
    assert answer.status_code == 200
    state = desktop.get(f"/play/{lesson['media_id']}/state").get_json()
    assert state["position_ms"] == 6000 and state["furthest_ms"] == 6000
    assert not state["completed"]
    # A report without the token is refused, like every other form.
    refused = phone.post(f"/play/{lesson['media_id']}/progress", json={"position_ms": 1})
    assert refused.status_code == 400


def test_a_course_may_forbid_skipping_ahead_until_finished_once(app, lesson):
    with app.app_context():
        db.session.get(Media, lesson["media_id"]).product.no_seek_ahead = True
        db.session.commit()
    buyer = _client(app, lesson["buyer"])
    state = buyer.get(f"/play/{lesson['media_id']}/state").get_json()
    assert state["no_seek_ahead"] and state["furthest_ms"] == 0
    buyer.post(
        f"/play/{lesson['media_id']}/progress",
        json={"position_ms": 9000, "played_ms": 9000, "ended": True},
        headers={"X-CSRFToken": state["csrf_token"]},
    )
    again = buyer.get(f"/play/{lesson['media_id']}/state").get_json()
    assert again["completed"] and not again["no_seek_ahead"]


def test_finished_lessons_count_toward_the_course(app, lesson):
    with app.app_context():
        product_id = db.session.get(Media, lesson["media_id"]).product_id
    buyer = _client(app, lesson["buyer"])
    page = buyer.get(f"/p/{lesson['slug']}").get_data(as_text=True)
    assert f'data-course-progress="/play/course/{product_id}"' in page
    assert "音频 0:09" in page  # the lesson's kind and length, in the table of contents
    assert buyer.get(f"/play/course/{product_id}").get_json() == {"finished": [], "lessons": 1}
    token = buyer.get(f"/play/{lesson['media_id']}/state").get_json()["csrf_token"]
    buyer.post(
        f"/play/{lesson['media_id']}/progress",
        json={"position_ms": 9000, "played_ms": 9000, "ended": True},
        headers={"X-CSRFToken": token},
    )
    with app.app_context():
        section_id = db.session.get(Media, lesson["media_id"]).section_id
    answer = buyer.get(f"/play/course/{product_id}")
    assert answer.get_json() == {"finished": [section_id], "lessons": 1}
    assert "no-store" in answer.headers["Cache-Control"]
    stranger = _client(app, lesson["other"])
    assert stranger.get(f"/play/course/{product_id}").get_json()["finished"] == []
    assert "data-course-progress" not in stranger.get(f"/p/{lesson['slug']}").get_data(as_text=True)


def test_a_videos_poster_is_for_those_who_may_play_it(app, samples):
    with app.app_context():
        item = course()
        media = processed(item, samples["video"], item.sections[1])
        buyer = factories.reader(openid="o-poster-buyer")
        factories.give(buyer, item)
        db.session.commit()
        media_id, buyer_id = media.id, buyer.id
    with _client(app, buyer_id).get(f"/play/{media_id}/poster.jpg") as poster:
        assert poster.status_code == 200 and poster.data[:2] == b"\xff\xd8"
        assert poster.headers["Cache-Control"].startswith("private")
    assert app.test_client().get(f"/play/{media_id}/poster.jpg").status_code == 403
