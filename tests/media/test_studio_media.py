"""The studio's side: a resumable upload in chunks over HTTP, the file refused when it is
not media, processing followed, the preview length, and deleting."""

import sqlalchemy as sa
from flask import current_app

from app.extensions import db
from app.media import queue, storage
from app.models import Media, MediaUpload
from tests.media.helpers import course
from tests.payflow import csrf_token_in


def _lesson(app):
    with app.app_context():
        item = course()
        db.session.commit()
        return item.id, item.sections[1].id


def _token(studio, product_id, section_id):
    page = studio.get(f"/studio/products/{product_id}/sections/{section_id}")
    assert page.status_code == 200 and b"data-media-card" in page.data
    return csrf_token_in(page.get_data(as_text=True))


def _start(studio, csrf, product_id, section_id, filename, size):
    return studio.post(
        f"/studio/products/{product_id}/media/uploads",
        json={"filename": filename, "size": size, "section_id": section_id},
        headers={"X-CSRFToken": csrf},
    )


def test_a_lesson_gets_its_video_through_the_studio(app, studio, samples):
    product_id, section_id = _lesson(app)
    csrf = _token(studio, product_id, section_id)
    data = samples["video"].read_bytes()
    started = _start(studio, csrf, product_id, section_id, "第二课.mp4", len(data))
    assert started.status_code == 201
    token, step = started.get_json()["token"], 100_000
    headers = {"X-CSRFToken": csrf, "Content-Type": "application/octet-stream"}
    url = f"/studio/media/uploads/{token}"
    assert studio.put(f"{url}?offset=0", data=data[:step], headers=headers).status_code == 200
    # The connection dropped after the shop took the chunk: the page asks, and goes on.
    again = studio.put(f"{url}?offset=0", data=data[:step], headers=headers)
    assert again.status_code == 409 and again.get_json()["received"] == step
    assert studio.get(url).get_json() == {"received": step, "size": len(data)}
    for offset in range(step, len(data), step):
        chunk = data[offset : offset + step]
        assert studio.put(f"{url}?offset={offset}", data=chunk, headers=headers).status_code == 200
    finished = studio.post(f"{url}/finish", headers={"X-CSRFToken": csrf})
    assert finished.status_code == 201
    media_id = finished.get_json()["media_id"]
    status = studio.get(f"/studio/media/{media_id}/status").get_json()
    assert status["status"] == "queued"

    with app.app_context():
        queue.work(current_app.config, stop_when_idle=True)
    assert studio.get(f"/studio/media/{media_id}/status").get_json()["ready"]
    page = studio.get(f"/studio/products/{product_id}/sections/{section_id}").get_data(as_text=True)
    assert "第二课.mp4" in page and "可播放" in page and "0:09" in page

    saved = studio.post(
        f"/studio/media/{media_id}/preview", data={"csrf_token": csrf, "preview_seconds": "5"}
    )
    assert saved.status_code == 302
    for typed in ("99", "²"):  # longer than the media; a digit to Python, not to int()
        refused = studio.post(
            f"/studio/media/{media_id}/preview", data={"csrf_token": csrf, "preview_seconds": typed}
        )
        assert refused.status_code == 302
    with app.app_context():
        assert db.session.get(Media, media_id).preview_seconds == 5

    assert (
        studio.post(f"/studio/media/{media_id}/delete", data={"csrf_token": csrf}).status_code
        == 302
    )
    with app.app_context():
        assert db.session.get(Media, media_id) is None
        assert not storage.published(current_app.config["UPLOAD_FOLDER"], media_id).exists()
        assert not storage.original(current_app.config["UPLOAD_FOLDER"], media_id).exists()


def test_a_file_that_is_not_media_is_refused_and_forgotten(app, studio):
    product_id, section_id = _lesson(app)
    csrf = _token(studio, product_id, section_id)
    data = b"%PDF-1.4 not a lesson" * 50
    token = _start(studio, csrf, product_id, section_id, "讲义.mp3", len(data)).get_json()["token"]
    headers = {"X-CSRFToken": csrf, "Content-Type": "application/octet-stream"}
    studio.put(f"/studio/media/uploads/{token}?offset=0", data=data, headers=headers)
    refused = studio.post(f"/studio/media/uploads/{token}/finish", headers={"X-CSRFToken": csrf})
    assert refused.status_code == 400 and "mp3" in refused.get_json()["error"]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(MediaUpload)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Media)) == 0


def test_uploads_are_the_creators_only(app, client):
    product_id, section_id = _lesson(app)
    answer = client.post(
        f"/studio/products/{product_id}/media/uploads",
        json={"filename": "a.mp3", "size": 10, "section_id": section_id},
    )
    assert answer.status_code in (302, 400, 401, 403)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(MediaUpload)) == 0
