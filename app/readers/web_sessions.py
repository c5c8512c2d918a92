"""Server-side sessions: start one for a reader or the creator, find it again, end it.

The session cookie holds only a random token. Who the browser is (a reader, the creator)
lives in the `web_sessions` row keyed by the token's digest, read once per request that asks.
Signing in starts a new row and ends the old one, and signing out ends the row, so a copy of
an earlier cookie, planted or stolen, opens nothing.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from app.extensions import db
from app.models import WebSession
from app.models.base import utcnow
from app.prepared_reads import PreparedRead
from app.readers import snapshot

# last_seen_at is written at most this often per session: one write an hour, not one a page.
SEEN_RESOLUTION = timedelta(hours=1)

_table = WebSession.__table__


@dataclass(frozen=True)
class LiveSession:
    key: str  # the row's id: the digest of the cookie's token
    reader_id: int | None
    creator_id: int | None
    last_seen_at: datetime


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(reader_id: int | None = None, creator_id: int | None = None) -> tuple[str, LiveSession]:
    """A new session row; returns the token for the cookie (never stored) and the session."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    live = LiveSession(_digest(token), reader_id, creator_id, now)
    db.session.execute(
        sa.insert(_table).values(
            id=live.key,
            reader_id=reader_id,
            creator_id=creator_id,
            created_at=now,
            last_seen_at=now,
        )
    )
    return token, live


def _find_statement() -> sa.CompoundSelect:
    """A session that has not ended, by its key, and its reader's snapshot: one statement.
    (Whether it has been idle too long is asked of its last_seen_at in Python, so that the
    statement's parameters are the key and the moment memberships are judged at.)"""
    live = (_table.c.id == sa.bindparam("key", type_=sa.String), _table.c.ended_at.is_(None))
    session_row = sa.select(
        *snapshot.columns(
            snapshot.SESSION,
            first=_table.c.reader_id,
            second=_table.c.creator_id,
            at=_table.c.last_seen_at,
        )
    ).where(*live)
    reader_id = sa.select(_table.c.reader_id).where(*live).scalar_subquery()
    return sa.union_all(session_row, *snapshot.parts(reader_id))


# Every signed-in page reads it first: prepared once, so a request pays for the query alone.
_FIND = PreparedRead(_find_statement())


def find_live(
    token: str, idle_limit: timedelta
) -> tuple[LiveSession | None, snapshot.ReaderSnapshot]:
    """The session this token opens (not ended, seen within idle_limit) and its reader's
    snapshot, in one round trip outside the request's transaction: a page served from the
    cache begins none."""
    key = _digest(token)
    rows = snapshot.tagged(_FIND.rows(key=key, now=snapshot.now_param()))
    found = next((row for row in rows if row.part == snapshot.SESSION), None)
    if found is None or found.at < utcnow() - idle_limit:
        return None, snapshot.NOBODY
    live = LiveSession(key, found.first, found.second, found.at)
    return live, snapshot.fold(rows) if live.reader_id is not None else snapshot.NOBODY


def attach_reader(live: LiveSession, reader_id: int) -> LiveSession:
    """A reader joins a session that had none (the creator's browser buying as a guest)."""
    db.session.execute(sa.update(_table).where(_table.c.id == live.key).values(reader_id=reader_id))
    return LiveSession(live.key, reader_id, live.creator_id, live.last_seen_at)


def reader_has_any(reader_id: int) -> bool:
    return (
        db.session.execute(
            sa.select(_table.c.id).where(_table.c.reader_id == reader_id).limit(1)
        ).first()
        is not None
    )


def end(live: LiveSession) -> None:
    db.session.execute(
        sa.update(_table)
        .where(_table.c.id == live.key, _table.c.ended_at.is_(None))
        .values(ended_at=utcnow())
    )


def seen_due(live: LiveSession) -> bool:
    return utcnow() - live.last_seen_at >= SEEN_RESOLUTION


def mark_seen(connection: sa.Connection, live: LiveSession) -> None:
    """Record that the session was used now (on a connection of the caller's choosing)."""
    connection.execute(
        sa.update(_table).where(_table.c.id == live.key).values(last_seen_at=utcnow())
    )
