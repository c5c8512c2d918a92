"""Uploads in chunks, probing by content, the queue and its worker, and what it makes: HLS
renditions whose segments are AES-128 encrypted with the media's key."""

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from flask import current_app

from app.catalog import editing
from app.extensions import db
from app.media import ffmpeg, queue, storage, transcode, uploads
from app.models import (
    Media,
    MediaJob,
    MediaJobState,
    MediaKind,
    MediaStatus,
    MediaUpload,
    Section,
)
from app.models.base import utcnow
from app.transactions import writing
from tests.media.helpers import course, processed, upload

FFMPEG_SAID_VIDEO = """Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'x':
  Duration: 00:01:02.50, start: 0.000000, bitrate: 1205 kb/s
  Stream #0:0[0x1](und): Video: h264 (High), yuv420p(tv, bt709), 1920x1080, 1000 kb/s, 30 fps
      Side data:
        displaymatrix: rotation of -90.00 degrees
  Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 44100 Hz, stereo, fltp, 128 kb/s
"""
FFMPEG_SAID_MP3_WITH_COVER = """Input #0, mp3, from 'x':
  Duration: 01:00:00.00, start: 0.025057, bitrate: 128 kb/s
  Stream #0:0: Audio: mp3 (mp3float), 44100 Hz, stereo, fltp, 128 kb/s
  Stream #0:1: Video: mjpeg (Baseline), yuvj420p(pc), 500x500, 90k tbr (attached pic)
"""


def test_a_file_is_judged_by_what_ffmpeg_finds_in_it():
    video = ffmpeg.describe(FFMPEG_SAID_VIDEO)
    assert video.kind is MediaKind.VIDEO and video.duration_ms == 62500
    assert (video.width, video.height) == (1080, 1920)  # a phone's portrait video, turned
    audio = ffmpeg.describe(FFMPEG_SAID_MP3_WITH_COVER)
    assert audio.kind is MediaKind.AUDIO and audio.duration_ms == 3_600_000  # cover art is no video
    for said in ("x: Invalid data found when processing input", "Input #0, gif, from 'x':"):
        with pytest.raises(ffmpeg.NotMedia):
            ffmpeg.describe(said)


def test_renditions_fit_the_source():
    def names(width, height, kind=MediaKind.VIDEO):
        probe = ffmpeg.Probe(kind, "mp4", 1000, width, height, True)
        return [(r.name, r.width, r.height) for r in transcode.plan(probe)]

    assert names(1920, 1080) == [("720p", 1280, 720), ("360p", 640, 360)]
    assert names(1080, 1920) == [("720p", 720, 1280), ("360p", 360, 640)]
    assert names(640, 360) == [("360p", 640, 360)]
    assert names(320, 240) == [("240p", 320, 240)]
    assert names(None, None, MediaKind.AUDIO) == [("audio", None, None)]


def test_an_upload_arrives_in_chunks_and_resumes_where_the_shop_is(app_ctx, samples):
    item = course()
    folder = current_app.config["UPLOAD_FOLDER"]
    data = samples["audio"].read_bytes()
    with writing():
        started = uploads.start(item, item.sections[0], "第一课.mp3", len(data))
    token = started.token
    with writing():
        uploads.append(uploads.find(token), 0, data[:1000], folder)
    # The answer was lost and the chunk is sent again, or a later one jumps ahead: the shop
    # says where it is, and nothing is written twice.
    for offset in (0, 5000):
        with pytest.raises(uploads.WrongOffset) as wrong, writing():
            uploads.append(uploads.find(token), offset, data[offset : offset + 1000], folder)
        assert wrong.value.received == 1000
    with pytest.raises(uploads.WrongOffset):
        uploads.probe(uploads.find(token), folder, "")  # not all there yet
    with writing():
        uploads.append(uploads.find(token), 1000, data[1000:], folder)
    probe = uploads.probe(uploads.find(token), folder, "")
    with writing():
        media = uploads.finish(uploads.find(token), probe, folder)
    assert media.kind is MediaKind.AUDIO and media.duration_ms == 9000
    assert media.status is MediaStatus.QUEUED and media.original_name == "第一课.mp3"
    assert storage.original(folder, media.id).read_bytes() == data
    assert db.session.get(MediaUpload, token) is None


def test_a_file_that_is_not_media_is_refused_whatever_its_name(app_ctx, tmp_path):
    item = course()
    fake = tmp_path / "lesson.mp4"
    fake.write_bytes(b"this is not a video " * 100)
    with pytest.raises(ffmpeg.NotMedia, match="无法识别"):
        upload(item, fake)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Media)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MediaUpload)) == 0
    folder = storage.media_root(current_app.config["UPLOAD_FOLDER"])
    assert not list(folder.glob("incoming/*.part"))


def test_the_worker_makes_encrypted_hls_of_a_video(app_ctx, samples):
    item = course()
    media = processed(item, samples["video"], item.sections[1])
    assert media.status is MediaStatus.READY and media.progress == 100 and media.has_poster
    assert [r["name"] for r in media.renditions] == ["360p"]
    published = storage.published(current_app.config["UPLOAD_FOLDER"], media.id)
    playlist = (published / "360p" / storage.PLAYLIST).read_text()
    assert '#EXT-X-KEY:METHOD=AES-128,URI="key",IV=0x' in playlist
    iv = bytes.fromhex(playlist.split("IV=0x")[1][:32])
    segment = (published / "360p" / "seg_00000.ts").read_bytes()
    assert segment[0] != 0x47  # a transport stream starts with 0x47: this one is encrypted
    decrypt = Cipher(algorithms.AES(bytes.fromhex(media.key_hex)), modes.CBC(iv)).decryptor()
    assert (decrypt.update(segment[:16]) + decrypt.finalize())[0] == 0x47
    assert (published / storage.POSTER).read_bytes()[:2] == b"\xff\xd8"  # a JPEG
    job = db.session.scalar(sa.select(MediaJob).where(MediaJob.media_id == media.id))
    assert job.state is MediaJobState.DONE and job.attempts == 1


def test_a_new_upload_replaces_the_lessons_media_once_it_is_ready(app_ctx, samples):
    item = course()
    first = processed(item, samples["audio"], item.sections[0])
    second = processed(item, samples["audio"], item.sections[0])
    assert db.session.get(Media, first.id) is None
    assert not storage.published(current_app.config["UPLOAD_FOLDER"], first.id).exists()
    assert second.status is MediaStatus.READY


def test_what_ffmpeg_cannot_decode_fails_with_a_reason(app_ctx, samples):
    item = course()
    media = upload(item, samples["audio"])
    original = storage.original(current_app.config["UPLOAD_FOLDER"], media.id)
    original.write_bytes(original.read_bytes()[:300])  # damaged after it was probed
    queue.work(current_app.config, stop_when_idle=True)
    db.session.expire_all()
    failed = db.session.get(Media, media.id)
    assert failed.status is MediaStatus.FAILED and failed.error


def test_two_workers_never_take_the_same_job(app, samples):
    with app.app_context():
        item = course()
        for _ in range(3):
            upload(item, samples["audio"])
    taken, start = [], threading.Barrier(2)

    def worker():
        with app.app_context():
            start.wait()
            while (job_id := queue.claim()) is not None:
                taken.append(job_id)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(taken) == sorted(set(taken)) and len(taken) == 3


def test_a_job_whose_worker_died_is_taken_again(app_ctx, samples):
    item = course()
    media = upload(item, samples["audio"])
    job_id = queue.claim()  # a worker took it and died
    assert queue.claim() is None  # its lease holds
    with writing():
        db.session.get(MediaJob, job_id).leased_until = utcnow() - timedelta(seconds=1)
    assert queue.work(current_app.config, stop_when_idle=True) == 1
    db.session.expire_all()
    assert db.session.get(Media, media.id).status is MediaStatus.READY


def test_the_sweep_removes_what_nothing_owns_and_keeps_the_rest(app_ctx, samples, monkeypatch):
    monkeypatch.setattr(storage, "SETTLING_S", -60)  # everything counts as settled
    folder = current_app.config["UPLOAD_FOLDER"]
    item = course()
    kept = processed(item, samples["audio"], item.sections[0]).id
    gone = processed(item, samples["audio"], item.sections[1]).id
    waiting = upload(item, samples["audio"]).id  # queued: its crashed attempt's folder stays
    busy_leftover = storage.media_root(folder) / f"{waiting}.job-99.1"
    ready_leftover = storage.media_root(folder) / f"{kept}.job-98.1"
    busy_leftover.mkdir(parents=True)
    ready_leftover.mkdir(parents=True)
    with writing():
        abandoned = uploads.start(item, None, "半途.mp3", 100)
        abandoned.created_at = utcnow() - timedelta(days=3)
        uploads.append(abandoned, 0, b"x" * 10, folder)
        going = uploads.start(item, None, "进行中.mp3", 100)
        uploads.append(going, 0, b"x" * 10, folder)
        abandoned_token, going_token = abandoned.token, going.token
    with writing():  # the lesson is deleted: its media rows go by cascade, its files stay
        editing.delete_section(db.session.get(Section, item.sections[1].id))
    assert db.session.get(Media, gone) is None

    assert queue.sweep(current_app.config) == 4
    assert storage.published(folder, kept).is_dir()
    assert storage.original(folder, kept).is_file()
    assert not storage.published(folder, gone).exists()
    assert not storage.original(folder, gone).exists()
    assert not ready_leftover.exists()
    assert busy_leftover.is_dir()  # a long job's folder may well be older than an hour
    assert storage.original(folder, waiting).is_file()
    assert storage.incoming(folder, going_token).exists()
    assert not storage.incoming(folder, abandoned_token).exists()
    assert uploads.find(abandoned_token) is None
