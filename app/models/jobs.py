"""When each scheduled job (reconcile, the bill check, backups, ...) last ran, and how it went."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import UTCDateTime, db

JOB_ERROR_CHARS = 200


class JobRun(db.Model):
    """One row per job name, overwritten by each run: enough for `flask shop doctor` to say
    whether the timers run, without a history that grows every few minutes."""

    __tablename__ = "job_runs"

    name: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Empty while a run is under way (or died without a word): finished is after started.
    last_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_ok: Mapped[bool | None] = mapped_column()
    last_error: Mapped[str] = mapped_column(sa.String(JOB_ERROR_CHARS), default="")
