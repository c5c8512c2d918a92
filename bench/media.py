"""Media benchmark: how long the worker takes to make encrypted HLS of a long video and a
long audio, and how many key and playlist requests a shop answers per second.

Run from the repository root:

    .venv/bin/python bench/media.py                     # a 10-minute 720p video, a 60-minute audio
    BENCH_VIDEO_MINUTES=1 BENCH_AUDIO_MINUTES=6 .venv/bin/python bench/media.py   # a quick look

In a temporary shop (SQLite, its own instance folder) it makes the sources with the shop's
own ffmpeg (a 1280×720 25 fps test pattern with a tone; a tone as 128 kbit/s mp3; their
making is not timed), uploads each the studio's way (chunks, then the probe) and times one
run of the worker's job on each: ffmpeg's two renditions of the video (720p and 360p) plus
the poster, the audio's one rendition, every segment encrypted. Then it serves the shop with
gunicorn (two gthread workers, as app/serving.py would on two cores) and loads, for a reader
who bought the course, the key's signed address and the video's 720p playlist (signed
addresses for every segment, written per request) with wrk when it is on the PATH, otherwise
with a small threaded client; each for 10 seconds.

The last line is machine-readable:

    RESULT video_10min_s=... audio_60min_s=... key_rps=... playlist_rps=...

(the names keep their minutes whatever BENCH_*_MINUTES say; the header says what ran).
"""

from __future__ import annotations

import os
import platform
import shutil
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

# The storefront benchmark's process helpers (bench/ is on sys.path as the script's folder).
from storefront import HOST, BenchError, Processes, gunicorn, run_wrk

REPO = Path(__file__).resolve().parent.parent
VIDEO_MINUTES = float(os.environ.get("BENCH_VIDEO_MINUTES", "10"))
AUDIO_MINUTES = float(os.environ.get("BENCH_AUDIO_MINUTES", "60"))
LOAD_SECONDS = 10
CONNECTIONS = 16
GTHREAD = ["--workers", "2", "--worker-class", "gthread", "--threads", "8"]


def make_shop(instance: Path):
    """A migrated, empty shop in `instance`; its app."""
    instance.mkdir(parents=True)
    (instance / "config.py").write_text(
        f"SQLALCHEMY_DATABASE_URI = 'sqlite:///{instance / 'shop.db'}'\nSECRET_KEY = 'bench'\n"
    )
    os.environ["SHOP_INSTANCE_PATH"] = str(instance)
    sys.path.insert(0, str(REPO))
    from flask_migrate import upgrade

    from app import create_app

    app = create_app()
    with app.app_context():
        upgrade(directory=str(REPO / "migrations"))
    return app


def make_sources(folder: Path) -> tuple[Path, Path]:
    from app.demo import media as demo_media

    started = time.monotonic()
    video = demo_media.test_pattern(
        folder / "video.mp4", round(VIDEO_MINUTES * 60), size="1280x720"
    )
    audio = demo_media.tone(folder / "audio.mp3", round(AUDIO_MINUTES * 60))
    print(f"sources made in {time.monotonic() - started:.0f} s (not timed below)")
    return video, audio


def course_with_buyer():
    """A course of two lessons and a reader who bought it."""
    from app.catalog import entitlements, queries
    from app.extensions import db
    from app.models import EntitlementSource, Product, ProductKind, Reader, Section

    item = Product(slug="bench-course", kind=ProductKind.COURSE, title="基准课", price_fen=9900)
    item.sections = [
        Section(position=1, title="视频课", body_md=""),
        Section(position=2, title="音频课", body_md=""),
    ]
    queries.render_product(item)
    queries.publish(item)
    reader = Reader(openid="o-bench-listener")
    db.session.add_all([item, reader])
    db.session.flush()
    entitlements.grant(reader, item, EntitlementSource.PURCHASE)
    db.session.commit()
    return item, reader


def upload_and_process(app, item, section, source: Path) -> tuple[int, float]:
    """The studio's upload in chunks, then one timed run of the worker; (media id, seconds)."""
    from app.media import queue, uploads
    from app.models import MediaStatus
    from app.transactions import writing

    folder = app.config["UPLOAD_FOLDER"]
    size = source.stat().st_size
    with writing():
        token = uploads.start(item, section, source.name, size).token
    with source.open("rb") as data:
        offset = 0
        while chunk := data.read(uploads.CHUNK_BYTES):
            with writing():
                uploads.append(uploads.find(token), offset, chunk, folder)
            offset += len(chunk)
    probe = uploads.probe(uploads.find(token), folder, "")
    with writing():
        media_id = uploads.finish(uploads.find(token), probe, folder).id
    started = time.monotonic()
    finished = queue.run_one(app.config)
    seconds = time.monotonic() - started
    if finished is None or finished.status is not MediaStatus.READY:
        raise BenchError(f"processing {source.name} did not finish: {finished}")
    return media_id, seconds


def signed_addresses(app, reader_id: int, media_id: int) -> tuple[str, str, str]:
    """(cookie header, key path, 720p playlist path) for the buyer, as their player gets them."""
    from app.extensions import db
    from app.readers import web_sessions

    client = app.test_client()
    with app.app_context():
        token, _ = web_sessions.start(reader_id=reader_id)
        db.session.commit()
    with client.session_transaction() as session:
        session["sid"] = token
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    master = client.get(f"/play/{media_id}.m3u8").get_data(as_text=True)
    playlist = next(line for line in master.splitlines() if line.startswith("/"))
    body = client.get(playlist).get_data(as_text=True)
    key = body.split('URI="', 1)[1].split('"', 1)[0]
    return f"{cookie.key}={cookie.value}", key, playlist


def load(port: int, path: str, cookie: str, procs: Processes) -> float:
    wrk = shutil.which("wrk")
    url = f"http://{HOST}:{port}{path}"
    if wrk:
        found = run_wrk(wrk, url, (("Cookie", cookie),), LOAD_SECONDS, CONNECTIONS, 2, procs)
        if found.non_2xx or found.errors:
            raise BenchError(f"{path}: {found.non_2xx} non-2xx, {found.errors} errors")
        return found.rps
    return _threaded_load(url, cookie)


def _threaded_load(url: str, cookie: str) -> float:
    """Without wrk: CONNECTIONS threads asking in a loop (the client costs CPU too)."""
    done, stop = [0], time.monotonic() + LOAD_SECONDS
    lock = threading.Lock()

    def ask() -> None:
        while time.monotonic() < stop:
            request = urllib.request.Request(url, headers={"Cookie": cookie})
            with urllib.request.urlopen(request, timeout=10) as answer:
                answer.read()
            with lock:
                done[0] += 1

    threads = [threading.Thread(target=ask) for _ in range(CONNECTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return done[0] / LOAD_SECONDS


def main() -> int:
    print(
        f"media benchmark: {VIDEO_MINUTES:g}-minute 720p video, {AUDIO_MINUTES:g}-minute audio; "
        f"{os.cpu_count()} cores, Python {platform.python_version()}"
    )
    procs = Processes()
    with tempfile.TemporaryDirectory(prefix="bench-media-") as root:
        root = Path(root)
        app = make_shop(root / "instance")
        with app.app_context():
            video, audio = make_sources(root)
            item, reader = course_with_buyer()
            video_id, video_s = upload_and_process(app, item, item.sections[0], video)
            speed = VIDEO_MINUTES * 60 / video_s
            print(f"video: processed in {video_s:.1f} s ({speed:.1f}× real time)")
            _, audio_s = upload_and_process(app, item, item.sections[1], audio)
            reader_id = reader.id
            speed = AUDIO_MINUTES * 60 / audio_s
            print(f"audio: processed in {audio_s:.1f} s ({speed:.1f}× real time)")
        cookie, key_path, playlist_path = signed_addresses(app, reader_id, video_id)
        env = dict(os.environ, SHOP_INSTANCE_PATH=str(root / "instance"), FLASK_APP="wsgi.py")
        try:
            with gunicorn(["wsgi:app"], env, procs, root / "gunicorn.log", GTHREAD) as port:
                key_rps = load(port, key_path, cookie, procs)
                playlist_rps = load(port, playlist_path, cookie, procs)
        finally:
            procs.stop_all()
    print(
        f"key: {key_rps:.0f} requests/s; 720p playlist (signed per request): {playlist_rps:.0f}/s"
    )
    print(
        f"RESULT video_10min_s={video_s:.1f} audio_60min_s={audio_s:.1f} "
        f"key_rps={key_rps:.1f} playlist_rps={playlist_rps:.1f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
