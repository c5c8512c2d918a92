"""WeChat Pay's notifications to the merchant: an outbox, its deliverer, and a worker thread.

Nothing is announced from inside the request that paid or refunded (WeChat never calls back
synchronously either): a row is queued, and a deliverer POSTs it to notify_url later, then
retries on WeChat's schedule (docs/wechat-protocol.md §5) compressed by SANDBOX_NOTIFY_TIME_SCALE.

Delivery is in-process (app/sandbox/in_process.py), like wechatpy's calls to the sandbox
(app/wechat/transport.py), so a notification never needs a second free worker. Rows are
claimed by compare-and-set, so several processes (or a CLI run beside the server) never
deliver the same row at once.
"""

import threading
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Flask, current_app

from app.models.base import db, utcnow
from app.sandbox import in_process
from app.sandbox import pay_protocol as proto
from app.sandbox.models import SandboxPayNotification, SandboxPayOrder
from app.transactions import begin_write

# WeChat's gaps after each failed attempt: 15s/15s/30s/3m/10m/20m/30m/30m/30m/60m/3h/3h/3h/6h/6h.
RETRY_GAPS = (15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600)
CLAIM_TIME = timedelta(seconds=60)  # a deliverer that died lets go of its rows after this
BATCH = 100
POLL_SECONDS = 0.5
_WORKER_KEY = "sandbox_notify_worker"
_worker_lock = threading.Lock()


def enqueue(kind: str, order: SandboxPayOrder, url: str, body: str, *, refund=None, due=None):
    """Queue a notification (in the caller's transaction), due now unless said otherwise."""
    row = SandboxPayNotification(
        kind=kind,
        order_id=order.id,
        refund_id=refund.id if refund is not None else None,
        url=url,
        body=body,
        attempts=0,
        next_attempt_at=due or utcnow(),
    )
    db.session.add(row)
    ensure_worker()
    return row


# --- delivering -------------------------------------------------------------------------------


def deliver_due_notifications(app: Flask | None = None, now: datetime | None = None) -> int:
    """Attempt every notification due at `now`; returns how many were attempted.

    Safe to call from anywhere (tests, `flask sandbox deliver`, the worker): it works in an app
    context of its own, so commit your own writes first.
    """
    app = app or current_app._get_current_object()
    with app.app_context():
        now = now or utcnow()
        due = db.session.scalars(
            sa.select(SandboxPayNotification.id)
            .where(SandboxPayNotification.next_attempt_at <= now, _unclaimed(now))
            .order_by(SandboxPayNotification.next_attempt_at, SandboxPayNotification.id)
            .limit(BATCH)
        ).all()
        db.session.commit()
        attempted = 0
        for row_id in due:
            if _claim(row_id, now):
                _attempt(app, row_id, now)
                attempted += 1
        return attempted


def resend_latest_notification(
    out_trade_no: str, kind: str = "payment", app: Flask | None = None
) -> bool:
    """POST the order's latest notification of this kind again, now, delivered or not.

    WeChat may send a notification more than once; this is how to test that the merchant
    answers a duplicate without doing the work twice. Returns whether it answered SUCCESS.
    """
    app = app or current_app._get_current_object()
    with app.app_context():
        row_id = db.session.scalar(
            sa.select(SandboxPayNotification.id)
            .join(SandboxPayOrder, SandboxPayOrder.id == SandboxPayNotification.order_id)
            .where(SandboxPayOrder.out_trade_no == out_trade_no)
            .where(SandboxPayNotification.kind == kind)
            .order_by(SandboxPayNotification.id.desc())
            .limit(1)
        )
        if row_id is None:
            raise LookupError(f"no {kind} notification for {out_trade_no}")
        db.session.commit()
        return _attempt(app, row_id, utcnow())


def _unclaimed(now: datetime):
    return sa.or_(
        SandboxPayNotification.claimed_until.is_(None),
        SandboxPayNotification.claimed_until < now,
    )


def _claim(row_id: int, now: datetime) -> bool:
    begin_write()
    claimed = db.session.execute(
        sa.update(SandboxPayNotification)
        .where(
            SandboxPayNotification.id == row_id,
            SandboxPayNotification.next_attempt_at <= now,
            _unclaimed(now),
        )
        .values(claimed_until=now + CLAIM_TIME)
    ).rowcount
    db.session.commit()
    return claimed == 1


def _attempt(app: Flask, row_id: int, now: datetime) -> bool:
    row = db.session.get(SandboxPayNotification, row_id)
    url, body = row.url, row.body
    # No transaction stays open while the merchant's handler runs: it writes to the database.
    db.session.commit()
    status, answer = in_process.post(app, url, body.encode("utf-8"))
    delivered = status == 200 and _says_success(answer)

    begin_write()
    row = db.session.get(SandboxPayNotification, row_id, populate_existing=True)
    row.attempts += 1
    row.last_attempt_at = now
    row.last_answer = f"HTTP {status}: {answer}"[:500]
    row.claimed_until = None
    if delivered:
        row.delivered_at = row.delivered_at or now
        row.next_attempt_at = None
    elif row.delivered_at is None:
        row.next_attempt_at = _retry_at(row.attempts, now, app)
    db.session.commit()
    return delivered


def _retry_at(attempts: int, now: datetime, app: Flask) -> datetime | None:
    """After the first attempt and up to 15 retries, None: WeChat gives up after 24h4m."""
    if attempts > len(RETRY_GAPS):
        return None
    scale = app.config["SANDBOX_NOTIFY_TIME_SCALE"]
    return now + timedelta(seconds=RETRY_GAPS[attempts - 1] * scale)


def _says_success(answer: str) -> bool:
    try:
        return proto.parse_xml(answer.encode("utf-8")).get("return_code") == "SUCCESS"
    except proto.MalformedXML:
        return False


# --- the background worker ---------------------------------------------------------------------


def worker_enabled(app: Flask) -> bool:
    setting = app.config["SANDBOX_NOTIFY_WORKER"]
    return (not app.testing) if setting is None else bool(setting)


def ensure_worker(app: Flask | None = None) -> None:
    """Start this process's delivery thread for the app unless it runs (or is turned off).

    Started lazily (on a sandbox request or a queued notification), never at import: a
    thread started before a server forks its workers would not survive in them.
    """
    app = app or current_app._get_current_object()
    if not worker_enabled(app) or _running(app):
        return
    with _worker_lock:
        if not _running(app):
            app.extensions[_WORKER_KEY] = _Worker(app)


def stop_worker(app: Flask) -> None:
    worker = app.extensions.pop(_WORKER_KEY, None)
    if worker is not None:
        worker.stopping.set()
        worker.thread.join(timeout=10)


def _running(app: Flask) -> bool:
    worker = app.extensions.get(_WORKER_KEY)
    return worker is not None and worker.thread.is_alive()


class _Worker:
    def __init__(self, app: Flask):
        self.stopping = threading.Event()
        self.thread = threading.Thread(
            target=self._run, args=(app,), name="sandbox-pay-notify", daemon=True
        )
        self.thread.start()

    def _run(self, app: Flask) -> None:
        while not self.stopping.wait(POLL_SECONDS):
            try:
                deliver_due_notifications(app)
            except Exception:
                app.logger.exception("sandbox: delivering pay notifications failed")
