"""Audio and video: a lesson's (or an item's) media, the uploads that bring it, the jobs that
turn it into encrypted HLS, and how far each reader has played it. The rules live in
app/media/."""

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import UTCDateTime, db, str_enum, utcnow
from app.models.catalog import Product, Section


class MediaKind(enum.StrEnum):
    AUDIO = "audio"
    VIDEO = "video"

    @property
    def label(self) -> str:
        return {"audio": "音频", "video": "视频"}[self.value]


class MediaStatus(enum.StrEnum):
    QUEUED = "queued"  # uploaded and probed, waiting for the worker
    PROCESSING = "processing"
    READY = "ready"  # playable
    FAILED = "failed"  # the worker gave up; the error says why

    @property
    def label(self) -> str:
        return {
            "queued": "排队处理",
            "processing": "处理中",
            "ready": "可播放",
            "failed": "处理失败",
        }[self.value]


class Media(db.Model):
    """One audio or video file of an item: the body of a lesson (section) or of the item.

    The original upload stays in the upload folder and is never served; readers get the HLS
    renditions, whose segments are AES-128 encrypted with `key` (app/media/delivery.py)."""

    __tablename__ = "media"
    __table_args__ = (
        sa.CheckConstraint("duration_ms > 0", name="media_duration_positive"),
        sa.CheckConstraint("progress BETWEEN 0 AND 100", name="media_progress_percent"),
        sa.CheckConstraint(
            "preview_seconds IS NULL OR preview_seconds > 0", name="media_preview_positive"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(
        sa.ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    # The lesson it is the body of; none: the item's own body.
    section_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("sections.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[MediaKind] = mapped_column(str_enum(MediaKind, "media_kind"))
    status: Mapped[MediaStatus] = mapped_column(
        str_enum(MediaStatus, "media_status"), default=MediaStatus.QUEUED
    )
    original_name: Mapped[str] = mapped_column(sa.String(200))  # as the creator's file was named
    size_bytes: Mapped[int] = mapped_column(sa.BigInteger)
    duration_ms: Mapped[int]
    width: Mapped[int | None]
    height: Mapped[int | None]
    # The renditions made: [{"name", "bandwidth", "width", "height"}], best first.
    renditions: Mapped[list] = mapped_column(sa.JSON, default=list)
    has_poster: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    key_hex: Mapped[str] = mapped_column(sa.String(32))  # the AES-128 key of every segment
    # How much of a paid lesson a reader who has not bought it may play; none: nothing.
    preview_seconds: Mapped[int | None]
    progress: Mapped[int] = mapped_column(default=0, server_default="0")  # percent processed
    error: Mapped[str] = mapped_column(sa.String(300), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    product: Mapped[Product] = relationship()
    section: Mapped[Section | None] = relationship()

    @property
    def folder(self) -> str:
        """Its files under the upload folder's media/ (app/media/storage.py)."""
        return str(self.id)

    @property
    def duration_s(self) -> float:
        return self.duration_ms / 1000


class MediaJobState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"  # a worker holds it until leased_until
    DONE = "done"
    FAILED = "failed"


class MediaJob(db.Model):
    """Turning one upload into HLS, for `flask shop media-worker` to take. A worker claims a
    job with a lease it renews as it goes; a worker that dies leaves the lease to run out and
    the job to be claimed again (app/media/queue.py)."""

    __tablename__ = "media_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    media_id: Mapped[int] = mapped_column(sa.ForeignKey("media.id", ondelete="CASCADE"), index=True)
    state: Mapped[MediaJobState] = mapped_column(
        str_enum(MediaJobState, "media_job_state"), default=MediaJobState.QUEUED, index=True
    )
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    leased_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    media: Mapped[Media] = relationship()


class MediaUpload(db.Model):
    """A file arriving in chunks (resumable): its bytes so far are in the upload folder under
    media/incoming/<token>.part; where it will go is set when it starts."""

    __tablename__ = "media_uploads"
    __table_args__ = (
        sa.CheckConstraint("received_bytes <= size_bytes", name="media_upload_within_size"),
    )

    token: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id", ondelete="CASCADE"))
    section_id: Mapped[int | None] = mapped_column(sa.ForeignKey("sections.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(sa.String(200))
    size_bytes: Mapped[int] = mapped_column(sa.BigInteger)
    received_bytes: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MediaProgress(db.Model):
    """How far a reader has played a media: where to resume, the furthest point reached (for
    no seeking ahead, and where listeners drop off), the seconds played, and completion."""

    __tablename__ = "media_progress"

    reader_id: Mapped[int] = mapped_column(
        sa.ForeignKey("readers.id", ondelete="CASCADE"), primary_key=True
    )
    media_id: Mapped[int] = mapped_column(
        sa.ForeignKey("media.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    position_ms: Mapped[int] = mapped_column(default=0)
    furthest_ms: Mapped[int] = mapped_column(default=0)
    played_ms: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
