"""Where media files live in the upload folder.

    media/incoming/<token>.part      an upload arriving in chunks
    media-originals/<media id>       the creator's file as uploaded: never served to readers
    media/<media id>/poster.jpg      a video's poster frame
    media/<media id>/<rendition>/index.m3u8, seg_00000.ts, ...   what readers play

Originals sit outside media/ so that no address a reader can ask for reaches one, even by a
mistake in a name check. A job writes its renditions into a folder of its own and moves it
into place whole, so a reader never sees half of one.
"""

import re
import shutil
from pathlib import Path

SEGMENT = re.compile(r"seg_\d{5}\.ts")
RENDITION = re.compile(r"(?:\d{3,4}p|audio)")
PLAYLIST = "index.m3u8"
POSTER = "poster.jpg"


def media_root(upload_folder: str | Path) -> Path:
    return Path(upload_folder) / "media"


def incoming(upload_folder: str | Path, token: str) -> Path:
    return media_root(upload_folder) / "incoming" / f"{token}.part"


def original(upload_folder: str | Path, media_id: int) -> Path:
    return Path(upload_folder) / "media-originals" / str(media_id)


def published(upload_folder: str | Path, media_id: int) -> Path:
    """The folder readers' files are served from (by relative name, under media/)."""
    return media_root(upload_folder) / str(media_id)


def workspace(upload_folder: str | Path, media_id: int, job_id: int, attempt: int) -> Path:
    """A job attempt's own folder, empty: what a crashed attempt left there is cleared."""
    folder = media_root(upload_folder) / f"{media_id}.job-{job_id}.{attempt}"
    shutil.rmtree(folder, ignore_errors=True)
    return folder


def publish(work: Path, upload_folder: str | Path, media_id: int) -> None:
    """Put a finished job's folder in place of what was published before."""
    target = published(upload_folder, media_id)
    if target.exists():
        shutil.rmtree(target)
    work.rename(target)


def remove(upload_folder: str | Path, media_id: int) -> None:
    """A media's files, all of them (it was replaced or its item deleted)."""
    shutil.rmtree(published(upload_folder, media_id), ignore_errors=True)
    original(upload_folder, media_id).unlink(missing_ok=True)
