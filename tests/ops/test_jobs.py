"""The record of scheduled jobs' runs: what `flask shop doctor` reads to tell the timers run."""

import logging

import pytest
import sqlalchemy as sa

from app import jobs
from app.extensions import db
from app.models import JobRun


def test_reconcile_records_a_good_run(app, runner):
    result = runner.invoke(args=["orders", "reconcile"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        run = jobs.last_run(jobs.RECONCILE)
        assert run.last_ok is True
        assert run.last_error == ""
        assert run.last_started_at <= run.last_finished_at


def test_a_job_that_raises_is_recorded_as_failed_and_still_raises(app_ctx):
    with pytest.raises(RuntimeError), jobs.recorded("bill"):
        raise RuntimeError("https://api.example/?secret=abc")
    run = jobs.last_run("bill")
    assert run.last_ok is False
    assert run.last_error == "RuntimeError"  # the type only: the text may carry a secret


def test_a_job_that_exits_with_a_status_or_says_what_went_wrong_failed(app_ctx):
    with pytest.raises(SystemExit), jobs.recorded("bill") as run:
        run.error = "2 个差异"
        raise SystemExit(1)
    assert (jobs.last_run("bill").last_ok, jobs.last_run("bill").last_error) == (False, "2 个差异")

    with pytest.raises(SystemExit), jobs.recorded("backup"):
        raise SystemExit(0)
    db.session.rollback()  # a fresh look: the record was written on a connection of its own
    assert jobs.last_run("backup").last_ok is True


def test_a_new_run_starts_afresh(app_ctx):
    with jobs.recorded("recs"):
        pass
    with pytest.raises(KeyError), jobs.recorded("recs"):
        during = jobs.last_run("recs")
        assert (during.last_finished_at, during.last_ok) == (None, None)
        raise KeyError("x")


def test_failing_to_record_never_fails_the_job(app_ctx, caplog):
    JobRun.__table__.drop(db.engine)
    ran = []
    with caplog.at_level(logging.ERROR, logger="app.jobs"), jobs.recorded("reconcile"):
        ran.append(True)
    assert ran == [True]
    assert "could not record the run of job reconcile" in caplog.text
    assert not sa.inspect(db.engine).has_table("job_runs")
    JobRun.__table__.create(db.engine)  # for the fixture's drop_all
