"""WeChat's access token, one for every worker, process and server of the shop.

WeChat hands out one access token at a time per AppID: fetching a new one retires the old
within five minutes, and fetches count against a daily quota. So the token lives in the
database (`wechat_api_tokens`), is never fetched per request, and is refreshed by one process
at a time:

- a token with more than REFRESH_BEFORE left is used as it is;
- otherwise a process claims the row's lease (`refreshing_until`, a short write), fetches a
  new token without holding any database lock (the fetch is a network call), and stores it;
- a process that finds the lease held keeps using the current token while it is valid, or
  waits for the new one (at most LEASE);
- WeChat calling a token invalid (40001, 40014, 42001) refreshes at once, unless another
  process already has.
"""

import time
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa

from app.models import WeChatApiToken
from app.models.base import insert_or_ignore, utcnow
from app.transactions import writing_apart

REFRESH_BEFORE = timedelta(minutes=5)
LEASE = timedelta(seconds=20)
WAIT_STEP = 0.1  # seconds between looks while another process fetches

_table = WeChatApiToken.__table__

# Fetches a new token: (value, lifetime in seconds). Raises when WeChat refuses.
Fetch = Callable[[], tuple[str, int]]


class TokenUnavailable(Exception):
    """Another process is fetching the token and did not finish in time."""


def current(name: str, fetch: Fetch) -> str:
    """The token under `name`, fetched or refreshed first if it is due."""
    row = _read(name)
    if row is not None and _fresh(row):
        return row.value
    return refresh(name, fetch)


def refresh(name: str, fetch: Fetch, stale: str | None = None) -> str:
    """A new token, unless one newer than `stale` (the one WeChat refused) is already stored
    and not due; fetched by this process if it can claim the lease, else waited for."""
    deadline = time.monotonic() + LEASE.total_seconds()
    while True:
        row = _read(name)
        if row is not None and row.value != stale and _fresh(row):
            return row.value
        if _claim(name, stale):
            return _fetch_and_store(name, fetch)
        if row is not None and row.value != stale and _usable(row):
            return row.value  # another process is refreshing; this one is still good
        if time.monotonic() >= deadline:
            raise TokenUnavailable(name)
        time.sleep(WAIT_STEP)


def _read(name: str):
    with writing_apart() as connection:
        return connection.execute(
            sa.select(_table.c.value, _table.c.expires_at).where(_table.c.name == name)
        ).first()


def _fresh(row) -> bool:
    return bool(row.value) and row.expires_at - utcnow() > REFRESH_BEFORE


def _usable(row) -> bool:
    return bool(row.value) and row.expires_at > utcnow()


def _claim(name: str, stale: str | None) -> bool:
    """Take the lease, if it is free and the token still needs a refresh (checked in the same
    statement: a process that read the row before another stored a new token must not fetch
    again)."""
    now = utcnow()
    due = [_table.c.value.is_(None), _table.c.expires_at <= now + REFRESH_BEFORE]
    if stale is not None:
        due.append(_table.c.value == stale)
    with writing_apart() as connection:
        connection.execute(insert_or_ignore(_table, ("name",)), {"name": name})
        claimed = connection.execute(
            sa.update(_table)
            .where(
                _table.c.name == name,
                sa.or_(_table.c.refreshing_until.is_(None), _table.c.refreshing_until < now),
                sa.or_(*due),
            )
            .values(refreshing_until=now + LEASE)
        )
        return claimed.rowcount == 1


def _fetch_and_store(name: str, fetch: Fetch) -> str:
    try:
        value, lifetime = fetch()
    except BaseException:
        _release(name)
        raise
    expires_at: datetime = utcnow() + timedelta(seconds=lifetime)
    with writing_apart() as connection:
        connection.execute(
            sa.update(_table)
            .where(_table.c.name == name)
            .values(value=value, expires_at=expires_at, refreshing_until=None)
        )
    return value


def _release(name: str) -> None:
    with writing_apart() as connection:
        connection.execute(
            sa.update(_table).where(_table.c.name == name).values(refreshing_until=None)
        )
