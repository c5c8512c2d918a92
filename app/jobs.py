"""A record of the scheduled jobs' runs (reconcile, the bill check, recommendations, backups),
so `flask shop doctor` can tell whether the timers really run.

    with jobs.recorded("reconcile") as run:
        ...
        if trouble:
            run.error = "3 个订单查询失败"

The record is bookkeeping: written on a connection of its own (never committing or waiting
on the job's work), and a failure to write it is logged, never raised, so it cannot make the
job fail. Errors are stored as the job words them or as an exception's type: an exception's
text may carry a URL with a secret in it.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from app.extensions import db
from app.models import JobRun
from app.models.base import upsert_replacing, utcnow
from app.models.jobs import JOB_ERROR_CHARS
from app.transactions import writing_apart

log = logging.getLogger(__name__)

# The scheduled jobs, as deploy/systemd's timers run them.
RECONCILE = "reconcile"
BILL = "bill"
RECOMMENDATIONS = "recommendations"
BACKUP = "backup"
REMINDERS = "reminders"


@dataclass
class Run:
    name: str
    started_at: datetime
    error: str = ""  # set by the job when it finished but not well


@contextmanager
def recorded(name: str) -> Iterator[Run]:
    """Record the start of a run of `name`, then its end: ok, or what went wrong.

    A SystemExit with status 0 is a success; any other exception, or `run.error` set, is a
    failure. The exception goes on as it came."""
    run = Run(name, utcnow())
    _write_start(run)
    try:
        yield run
    except SystemExit as exit_:
        status = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        _write_end(run, ok=status == 0 and not run.error, error=run.error or f"退出码 {status}")
        raise
    except BaseException as exc:
        _write_end(run, ok=False, error=run.error or type(exc).__name__)
        raise
    _write_end(run, ok=not run.error, error=run.error)


def last_run(name: str) -> JobRun | None:
    return db.session.get(JobRun, name)


def _write_start(run: Run) -> None:
    table = JobRun.__table__
    statement = upsert_replacing(
        table, ("name",), ("last_started_at", "last_finished_at", "last_ok", "last_error")
    )
    values = {
        "name": run.name,
        "last_started_at": run.started_at,
        "last_finished_at": None,
        "last_ok": None,
        "last_error": "",
    }
    _write(run, statement, values)


def _write_end(run: Run, *, ok: bool, error: str) -> None:
    table = JobRun.__table__
    # Only this run's row: a later run that started meanwhile owns the record now.
    statement = (
        sa.update(table)
        .where(table.c.name == run.name, table.c.last_started_at == run.started_at)
        .values(last_finished_at=utcnow(), last_ok=ok, last_error=error[:JOB_ERROR_CHARS])
    )
    _write(run, statement, {})


def _write(run: Run, statement, values: dict) -> None:
    try:
        with writing_apart() as connection:
            connection.execute(statement, values or None)
    except Exception:
        log.exception("could not record the run of job %s", run.name)
