"""How far each reader has played each media: where to resume (on any device), the furthest
point reached, the time played, and whether they finished it. Written by the player every
few seconds while it plays; read by the player on start and by the studio's statistics."""

from dataclasses import dataclass

import sqlalchemy as sa

from app.extensions import db
from app.models import Media, MediaProgress, MediaStatus
from app.models.base import utcnow
from app.transactions import begin_write

# The most play time one report may add: the player reports every 10 s, at up to 2x speed.
MAX_PLAYED_PER_REPORT_MS = 60_000
# Played to here (or to the end): the lesson counts as finished.
COMPLETE_AT = 0.95


@dataclass(frozen=True)
class Where:
    position_ms: int
    furthest_ms: int
    completed: bool


NOWHERE = Where(0, 0, False)


def where(reader_id: int | None, media_id: int) -> Where:
    if reader_id is None:
        return NOWHERE
    row = db.session.get(MediaProgress, (reader_id, media_id))
    if row is None:
        return NOWHERE
    return Where(row.position_ms, row.furthest_ms, row.completed_at is not None)


def record(reader_id: int, media: Media, position_ms: int, played_ms: int, ended: bool) -> Where:
    """One report from the player. Positions outside the media and implausible play time are
    brought within bounds: a report is the reader's browser talking, not a fact."""
    position_ms = max(0, min(position_ms, media.duration_ms))
    played_ms = max(0, min(played_ms, MAX_PLAYED_PER_REPORT_MS))
    begin_write()
    row = db.session.get(MediaProgress, (reader_id, media.id))
    if row is None:
        row = MediaProgress(reader_id=reader_id, media_id=media.id, furthest_ms=0, played_ms=0)
        db.session.add(row)
    row.position_ms = 0 if ended else position_ms  # finished: the next play starts over
    row.furthest_ms = max(row.furthest_ms, media.duration_ms if ended else position_ms)
    row.played_ms += played_ms
    row.updated_at = utcnow()
    if row.completed_at is None and (ended or row.furthest_ms >= media.duration_ms * COMPLETE_AT):
        row.completed_at = row.updated_at
    db.session.commit()
    return Where(row.position_ms, row.furthest_ms, row.completed_at is not None)


@dataclass(frozen=True)
class CourseProgress:
    finished: list[int]  # the lessons (section ids) whose audio or video the reader finished
    lessons: int  # the lessons that have a playable audio or video


def of_course(reader_id: int | None, product_id: int) -> CourseProgress:
    """How far a reader is through a course's audio and video lessons, in one statement."""
    lessons = (
        sa.select(Media.section_id, sa.func.max(Media.id).label("media_id"))
        .where(
            Media.product_id == product_id,
            Media.section_id.is_not(None),
            Media.status == MediaStatus.READY,
        )
        .group_by(Media.section_id)
        .subquery()
    )
    rows = db.session.execute(
        sa.select(lessons.c.section_id, MediaProgress.completed_at).outerjoin(
            MediaProgress,
            sa.and_(
                MediaProgress.media_id == lessons.c.media_id,
                MediaProgress.reader_id == (reader_id or 0),
            ),
        )
    ).all()
    finished = sorted(section_id for section_id, done in rows if done is not None)
    return CourseProgress(finished, len(rows))
