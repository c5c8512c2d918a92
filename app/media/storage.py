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
import time
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


# What was just made may not have its row yet (a file is moved in before its transaction
# commits): the sweep leaves anything changed this recently alone.
SETTLING_S = 3600
_OWNED_BY_MEDIA = re.compile(r"(\d+)(?:\.job-\d+\.\d+)?")


def sweep(
    upload_folder: str | Path, media_ids: set[int], busy_ids: set[int], upload_tokens: set[str]
) -> int:
    """Remove what nothing owns: the files of deleted media (a lesson or an item deleted takes
    its media rows with it), a crashed job's leftovers (never those of a media still queued
    or processing: a long job's folder may be older than an hour), the bytes of abandoned
    uploads. How many it removed."""
    settled = time.time() - SETTLING_S
    removed = 0
    candidates = []
    incoming_folder = media_root(upload_folder) / "incoming"
    if incoming_folder.is_dir():
        candidates += [
            path for path in incoming_folder.glob("*.part") if path.stem not in upload_tokens
        ]
    for folder in (media_root(upload_folder), Path(upload_folder) / "media-originals"):
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            owner = _OWNED_BY_MEDIA.fullmatch(path.name)
            if owner is None:
                continue
            media_id = int(owner.group(1))
            if media_id not in media_ids or (".job-" in path.name and media_id not in busy_ids):
                candidates.append(path)
    for path in candidates:
        if path.stat().st_ctime > settled:
            continue
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed += 1
    return removed
