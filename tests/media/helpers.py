"""Shared by the media tests: small real audio and video files made by the shop's own ffmpeg
(as the demo makes its own), and a lesson with its media uploaded and processed the way the
studio and the worker do it."""

from pathlib import Path

from flask import current_app

from app.demo import media as demo_media
from app.extensions import db
from app.media import ffmpeg, queue, uploads
from app.models import Media, Product, ProductKind
from app.transactions import writing
from tests import factories

CHUNK = 64 * 1024


def make_audio(folder: Path, seconds: int = 9, name: str = "tone.mp3") -> Path:
    target = folder / name
    return target if target.exists() else demo_media.tone(target, seconds)


def make_video(folder: Path, seconds: int = 9, name: str = "pattern.mp4") -> Path:
    target = folder / name
    return target if target.exists() else demo_media.test_pattern(target, seconds)


def course(price_fen: int = 1990, free_first: bool = True) -> Product:
    """A course of two lessons, the first free (试看) when asked."""
    return factories.product(
        ProductKind.COURSE,
        title="声音课",
        price_fen=price_fen,
        sections=[("第一课", "开场", free_first), ("第二课", "正课", False)],
    )


def upload(item: Product, source: Path, section=None, chunk: int = CHUNK) -> Media:
    """Upload a file in chunks as the studio does, and finish it (probed, queued)."""
    folder = current_app.config["UPLOAD_FOLDER"]
    data = source.read_bytes()
    with writing():
        started = uploads.start(item, section, source.name, len(data))
    token = started.token
    for offset in range(0, len(data), chunk):
        with writing():
            uploads.append(uploads.find(token), offset, data[offset : offset + chunk], folder)
    try:
        probe = uploads.probe(uploads.find(token), folder, "")
        with writing():
            return uploads.finish(uploads.find(token), probe, folder)
    except ffmpeg.NotMedia:
        with writing():  # as the studio does: the file is of no use
            uploads.discard(uploads.find(token), folder)
        raise


def processed(item: Product, source: Path, section=None) -> Media:
    """Uploaded and processed by the worker: ready to play."""
    media_id = upload(item, source, section).id
    queue.work(current_app.config, stop_when_idle=True)
    db.session.expire_all()
    return db.session.get(Media, media_id)
