"""The queue of media to process, and the worker that empties it (`flask shop media-worker`,
started by `make run` and by deploy/systemd/shop-media.service).

A job is a row. A worker claims the oldest waiting job with one conditional UPDATE (two
workers never both win), holds it with a lease it renews as ffmpeg reports progress, and
ends it done or failed. A worker that dies mid-job leaves the lease to run out: the job is
claimed again, up to MAX_ATTEMPTS times. What ffmpeg refuses (a file it cannot decode) fails
at once; the studio shows why.
"""

import logging
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from app.catalog import queries
from app.extensions import db
from app.media import ffmpeg, storage, transcode
from app.models import Media, MediaJob, MediaJobState, MediaKind, MediaStatus, MediaUpload
from app.models.base import utcnow
from app.transactions import begin_write

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 3
PROGRESS_EVERY_S = 2.0  # how often progress (and the lease) is written while ffmpeg runs


def enqueue(media: Media) -> MediaJob:
    """Queue a media for processing (inside the caller's unit of work)."""
    job = MediaJob(media=media)
    db.session.add(job)
    db.session.flush()
    return job


def claim() -> int | None:
    """Take the oldest job waiting (or whose worker's lease ran out); its id, or None."""
    now = utcnow()
    claimable = sa.or_(
        MediaJob.state == MediaJobState.QUEUED,
        sa.and_(MediaJob.state == MediaJobState.RUNNING, MediaJob.leased_until < now),
    )
    while True:
        job_id = db.session.scalar(
            sa.select(MediaJob.id).where(claimable).order_by(MediaJob.id).limit(1)
        )
        if job_id is None:
            db.session.rollback()
            return None
        begin_write()
        taken = db.session.execute(
            sa.update(MediaJob)
            .where(MediaJob.id == job_id, claimable)
            .values(
                state=MediaJobState.RUNNING,
                attempts=MediaJob.attempts + 1,
                leased_until=now + LEASE,
            )
        ).rowcount
        db.session.commit()
        if taken:
            return job_id


@dataclass(frozen=True)
class Finished:
    job_id: int
    media_id: int
    status: MediaStatus


def run_one(config: Mapping) -> Finished | None:
    """Claim a job and process it; None when there was none."""
    job_id = claim()
    if job_id is None:
        return None
    job = db.session.get(MediaJob, job_id)
    media = job.media
    folder = config["UPLOAD_FOLDER"]
    if job.attempts > MAX_ATTEMPTS:
        return _end(job_id, media.id, folder, "处理多次中断，请重新上传")
    _set_media(media.id, status=MediaStatus.PROCESSING, progress=0, error="")
    work = storage.workspace(folder, media.id, job.id, job.attempts)
    binary = ffmpeg.binary(config.get("FFMPEG_BINARY", ""))
    original = storage.original(folder, media.id)
    try:
        probe = ffmpeg.probe(original, binary)
        renditions = transcode.plan(probe)
        transcode.run(
            binary,
            original,
            probe,
            renditions,
            bytes.fromhex(media.key_hex),
            work,
            _progress_writer(job.id, media.id),
        )
    except (ffmpeg.NotMedia, transcode.TranscodeFailed) as refused:
        shutil.rmtree(work, ignore_errors=True)
        return _end(job_id, media.id, folder, str(refused))
    except Exception:
        shutil.rmtree(work, ignore_errors=True)
        log.exception("media %s: processing stopped; the job will be tried again", media.id)
        _requeue(job.id)
        return Finished(job.id, media.id, MediaStatus.QUEUED)
    storage.publish(work, folder, media.id)
    return _end(job_id, media.id, folder, None, [r.as_stored() for r in renditions])


def _progress_writer(job_id: int, media_id: int):
    """A callback that writes progress and renews the lease, at most every PROGRESS_EVERY_S."""
    last = [0.0]

    def write(percent: int) -> None:
        now = time.monotonic()
        if now - last[0] < PROGRESS_EVERY_S:
            return
        last[0] = now
        begin_write()
        db.session.execute(
            sa.update(MediaJob).where(MediaJob.id == job_id).values(leased_until=utcnow() + LEASE)
        )
        db.session.execute(sa.update(Media).where(Media.id == media_id).values(progress=percent))
        db.session.commit()

    return write


def _set_media(media_id: int, **values) -> None:
    begin_write()
    db.session.execute(sa.update(Media).where(Media.id == media_id).values(**values))
    db.session.commit()


def _requeue(job_id: int) -> None:
    db.session.rollback()
    begin_write()
    db.session.execute(
        sa.update(MediaJob)
        .where(MediaJob.id == job_id)
        .values(state=MediaJobState.QUEUED, leased_until=None)
    )
    db.session.commit()


def _end(job_id: int, media_id: int, folder, error: str | None, renditions=None) -> Finished:
    """Mark the job and its media done (ready) or failed, in one transaction. A media made
    ready replaces what its lesson (or item) had before: older media there are deleted."""
    db.session.rollback()
    begin_write()
    job = db.session.get(MediaJob, job_id)
    media = db.session.get(Media, media_id)
    if job is None or media is None:  # replaced (or its item deleted) while it was processed
        db.session.rollback()
        storage.remove(folder, media_id)
        return Finished(job_id, media_id, MediaStatus.FAILED)
    now = utcnow()
    job.leased_until, job.finished_at = None, now
    replaced = []
    if error is None:
        job.state = MediaJobState.DONE
        media.status, media.progress, media.error = MediaStatus.READY, 100, ""
        media.renditions, media.ready_at = renditions, now
        media.has_poster = media.kind is MediaKind.VIDEO
        replaced = [old.id for old in _older_on_the_same_place(media)]
        db.session.execute(sa.delete(Media).where(Media.id.in_(replaced)))
        queries.mark_content_changed()  # cached lesson pages show the player now
    else:
        job.state = MediaJobState.FAILED
        media.status, media.error = MediaStatus.FAILED, error[:300]
    db.session.commit()
    for old_id in replaced:
        storage.remove(folder, old_id)
    return Finished(job_id, media_id, media.status)


def _older_on_the_same_place(media: Media) -> list[Media]:
    same_place = (
        Media.section_id.is_(None)
        if media.section_id is None
        else Media.section_id == media.section_id
    )
    return list(
        db.session.scalars(
            sa.select(Media).where(
                Media.product_id == media.product_id, same_place, Media.id < media.id
            )
        )
    )


def work(config: Mapping, stop_when_idle: bool = False, idle_sleep_s: float = 2.0) -> int:
    """Process jobs until stopped (or, with stop_when_idle, until none waits); how many ran.
    Idle, it sweeps what nothing owns any more, once an hour."""
    ran, swept_at = 0, 0.0
    while True:
        finished = run_one(config)
        if finished is not None:
            ran += 1
            log.info("media %s: %s", finished.media_id, finished.status.value)
            continue
        if stop_when_idle:
            return ran
        if time.monotonic() - swept_at > SWEEP_EVERY_S:
            sweep(config)
            swept_at = time.monotonic()
        time.sleep(idle_sleep_s)


SWEEP_EVERY_S = 3600
ABANDONED_UPLOAD = timedelta(days=2)


def sweep(config: Mapping) -> int:
    """Forget abandoned uploads and remove the files nothing owns (storage.sweep)."""
    return storage.sweep(config["UPLOAD_FOLDER"], *_owners())


def _owners() -> tuple[set[int], set[int], set[str]]:
    """The media that exist, those still queued or processing, and the uploads still going
    (abandoned ones forgotten first)."""
    begin_write()
    db.session.execute(
        sa.delete(MediaUpload).where(MediaUpload.created_at < utcnow() - ABANDONED_UPLOAD)
    )
    db.session.commit()
    media_ids = set(db.session.scalars(sa.select(Media.id)))
    busy = set(
        db.session.scalars(
            sa.select(Media.id).where(
                Media.status.in_([MediaStatus.QUEUED, MediaStatus.PROCESSING])
            )
        )
    )
    tokens = set(db.session.scalars(sa.select(MediaUpload.token)))
    db.session.commit()
    return media_ids, busy, tokens
