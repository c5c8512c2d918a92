"""The queue of the 公众号's messages about paid orders: queued with the payment, sent after it.

- `queue_for_payment` runs inside the transaction that marks an order paid
  (orders.confirm_payment): a paid order always has its rows and a rolled-back payment none.
  One row per (order, recipient, kind), so nothing is queued twice.
- `send_due` (`flask wechat messages send`, run by `flask orders reconcile`), `send_these`
  (a payment's own messages that may go, right after the response that recorded it) and
  `send_now` (the studio's 重发) send rows. A sender first claims the row with a lease
  (`claimed_until`, a compare-and-set that works the same on SQLite and PostgreSQL), so two
  senders never send one row; the network call holds no database lock. A sender that dies
  mid-send leaves the lease to run out, and the row is tried again (at least once, rather
  than at most once).
- A passing failure (WeChat busy, no answer) is tried again after BACKOFF; once
  MAX_ATTEMPTS have failed the row is failed. WeChat's verdicts settle a row at once.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload

from app.catalog import queries
from app.extensions import db
from app.models import (
    MessageKind,
    MessageRecipient,
    MessageStatus,
    Order,
    OutboxMessage,
    Reader,
    WeChatFollower,
)
from app.models.base import insert_or_ignore, utcnow
from app.transactions import writing_apart
from app.wechat import followers, message_delivery, message_settings, messages
from app.wechat.message_delivery import Way

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)  # longer than a send: user/info, a token refresh, two calls
BACKOFF = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
)
MAX_ATTEMPTS = len(BACKOFF) + 1
WAITING = (MessageStatus.QUEUED, MessageStatus.RETRYING)
RESENDABLE = (MessageStatus.FAILED, MessageStatus.SKIPPED, *WAITING)

_table = OutboxMessage.__table__


# --- queueing -----------------------------------------------------------------------------------


def queue_for_payment(connection: sa.Connection, order_id: int, order_kind: str) -> None:
    """Queue the buyer's message and the creator's notice about a paid order, in the
    payment's own transaction (the caller's connection)."""
    now = utcnow()
    kind = MessageKind.TIP if order_kind == MessageKind.TIP.value else MessageKind.PURCHASE
    connection.execute(
        insert_or_ignore(_table, ("order_id", "recipient", "kind")),
        [
            {
                "order_id": order_id,
                "recipient": recipient.value,
                "kind": kind.value,
                "status": MessageStatus.QUEUED.value,
                "attempts": 0,
                "next_attempt_at": now,
                "errmsg": "",
                "created_at": now,
            }
            for recipient in MessageRecipient
        ],
    )


# --- sending ------------------------------------------------------------------------------------


@dataclass
class SendReport:
    counts: dict[MessageStatus, int] = field(default_factory=dict)

    def add(self, status: MessageStatus | None) -> None:
        if status is not None:
            self.counts[status] = self.counts.get(status, 0) + 1

    def count(self, status: MessageStatus) -> int:
        return self.counts.get(status, 0)


def send_due(limit: int = 100) -> SendReport:
    """Send the rows that are due, oldest first."""
    due = sa.select(_table.c.id).where(_table.c.next_attempt_at <= utcnow())
    return _send_each(_ids(due.order_by(_table.c.next_attempt_at, _table.c.id).limit(limit)))


def worth_sending_now(out_trade_no: str) -> list[int]:
    """The messages a payment just queued that WeChat may take: for sending right after the
    response that recorded it (`send_these`). One statement, no network: the others (nobody
    to send to, no template and no recent interaction) are settled as skipped by the next
    send_due, off the payment's path."""
    rows = db.session.execute(_FRESH, {"out_trade_no": out_trade_no}).all()
    db.session.commit()
    if not rows:
        return []
    settings = message_settings.from_saved(
        rows[0].message_templates, rows[0].creator_openid, current_app.config
    )
    return [row.id for row in rows if _may_go(row, settings)]


def send_these(ids: list[int]) -> SendReport:
    """Send these rows now if they are still due and free (tried once: a row that fails
    waits for its time, send_due)."""
    return _send_each(ids)


def _following(alias) -> list:
    return [alias.c.subscribed, alias.c.last_interaction_at]


_orders, _readers, _followers = Order.__table__, Reader.__table__, WeChatFollower.__table__
_profile = message_settings.SAVED.subquery()
_as_payer, _as_reader, _as_creator = (_followers.alias(name) for name in ("fp", "fr", "fc"))
# A payment's rows never tried, with all that decides whether one may go now: where it goes,
# the message settings, and what the shop knows of each possible recipient.
_FRESH = (
    sa.select(
        _table.c.id,
        _table.c.recipient,
        _table.c.kind,
        _orders.c.payer_openid,
        _readers.c.openid.label("reader_openid"),
        _profile.c.message_templates,
        _profile.c.creator_openid,
        *(column.label(f"payer_{column.name}") for column in _following(_as_payer)),
        *(column.label(f"reader_{column.name}") for column in _following(_as_reader)),
        *(column.label(f"creator_{column.name}") for column in _following(_as_creator)),
    )
    .join(_orders, _orders.c.id == _table.c.order_id)
    .join(_readers, _readers.c.id == _orders.c.reader_id)
    .outerjoin(_profile, sa.true())
    .outerjoin(_as_payer, _as_payer.c.openid == _orders.c.payer_openid)
    .outerjoin(_as_reader, _as_reader.c.openid == _readers.c.openid)
    .outerjoin(_as_creator, _as_creator.c.openid == _profile.c.creator_openid)
    .where(_orders.c.out_trade_no == sa.bindparam("out_trade_no"), _table.c.attempts == 0)
)


def _may_go(row, settings: message_settings.MessageSettings) -> bool:
    recipient, kind = MessageRecipient(row.recipient), MessageKind(row.kind)
    try:
        openid = messages.recipient_openid(
            recipient, settings.creator_openid, row.payer_openid, row.reader_openid
        )
    except messages.Unsendable:
        return False
    known = {
        settings.creator_openid: (row.creator_subscribed, row.creator_last_interaction_at),
        row.reader_openid: (row.reader_subscribed, row.reader_last_interaction_at),
        row.payer_openid: (row.payer_subscribed, row.payer_last_interaction_at),
    }[openid]
    has_template = settings.templates[messages.template_name(recipient, kind)] is not None
    follower = followers.Follower(openid, *known)
    return message_delivery.way(has_template, follower, utcnow()) is not Way.NONE


def send_now(message_id: int) -> MessageStatus | None:
    """The studio's 重发: one more attempt at once, whatever the row's schedule or count.
    None if it was sent already or another sender holds it."""
    return _send_one(message_delivery.client(), message_id, manual=True)


def _ids(query) -> list[int]:
    ids = list(db.session.scalars(query))
    db.session.commit()  # end the read: nothing is held across the sends
    return ids


def _send_each(ids: list[int]) -> SendReport:
    report = SendReport()
    if ids:
        wechat = message_delivery.client()
        for message_id in ids:
            report.add(_send_one(wechat, message_id))
    return report


def _send_one(wechat, message_id: int, manual: bool = False) -> MessageStatus | None:
    claim = _claim(message_id, manual)
    if claim is None:
        return None
    lease, attempts = claim
    openid = None
    try:
        openid, outcome = _attempt(wechat, message_id)
    except Exception:  # a bug must not stop the queue, nor the response this runs after
        log.exception("sending outbox message %s failed", message_id)
        db.session.rollback()
        outcome = message_delivery.Outcome(MessageStatus.RETRYING, reason="发送时出错（见日志）")
    return _settle(message_id, lease, attempts, openid, outcome)


def _claim(message_id: int, manual: bool) -> tuple[datetime, int] | None:
    """Take the row for one attempt: (the lease, the attempt's number), or None if it is not
    due (or, for the studio, already sent) or another sender holds it."""
    now = utcnow()
    lease = now + LEASE
    if manual:
        ready = _table.c.status.in_([status.value for status in RESENDABLE])
    else:
        ready = _table.c.next_attempt_at <= now
    with writing_apart() as connection:
        claimed = connection.execute(
            sa.update(_table)
            .where(
                _table.c.id == message_id,
                ready,
                sa.or_(_table.c.claimed_until.is_(None), _table.c.claimed_until < now),
            )
            .values(claimed_until=lease, attempts=_table.c.attempts + 1, last_attempt_at=now)
            .returning(_table.c.attempts)
        ).first()
    return None if claimed is None else (lease, claimed.attempts)


def _attempt(wechat, message_id: int) -> tuple[str | None, message_delivery.Outcome]:
    """(the openid it went to, the outcome)."""
    row = db.session.get(OutboxMessage, message_id)
    order = _order(sa.select(Order).where(Order.id == row.order_id))
    settings = message_settings.current(current_app.config)
    try:
        envelope = messages.compose(
            order, row.recipient, row.kind, settings, queries.shop_profile()
        )
    except messages.Unsendable as nobody:
        return None, message_delivery.Outcome(MessageStatus.SKIPPED, reason=str(nobody))
    finally:
        db.session.commit()  # end the read before the network call
    return envelope.openid, message_delivery.send(wechat, envelope)


def _order(query) -> Order:
    """The order with what its messages tell of: the reader, the item, the tip."""
    return db.session.scalar(
        query.options(joinedload(Order.reader), joinedload(Order.product), joinedload(Order.tip))
    )


def _settle(
    message_id: int,
    lease: datetime,
    attempts: int,
    openid: str | None,
    outcome: message_delivery.Outcome,
) -> MessageStatus:
    now = utcnow()
    status, next_attempt_at, reason = outcome.status, None, outcome.reason
    if status is MessageStatus.RETRYING:
        if attempts >= MAX_ATTEMPTS:
            status, reason = MessageStatus.FAILED, f"{reason}；已尝试 {attempts} 次，不再重试"
        else:
            next_attempt_at = now + BACKOFF[attempts - 1]
    values = {
        "status": status,
        "next_attempt_at": next_attempt_at,
        "claimed_until": None,
        "channel": outcome.channel,
        "errcode": outcome.errcode,
        "errmsg": reason[:200],
        "msgid": outcome.msgid,
        "sent_at": now if status is MessageStatus.SENT else None,
    }
    if openid is not None:
        values["openid"] = openid
    with writing_apart() as connection:
        connection.execute(
            sa.update(_table)
            .where(_table.c.id == message_id, _table.c.claimed_until == lease)
            .values(**values)
        )
    return status


# --- for the studio -----------------------------------------------------------------------------


def recent(limit: int = 50) -> list[OutboxMessage]:
    """The latest messages, newest first, with their orders."""
    return list(
        db.session.scalars(
            sa.select(OutboxMessage)
            .options(joinedload(OutboxMessage.order))
            .order_by(OutboxMessage.id.desc())
            .limit(limit)
        )
    )
