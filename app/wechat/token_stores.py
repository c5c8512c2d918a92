"""Where the shop keeps WeChat's access token and JS-SDK ticket (app/wechat/api_tokens.py):
the database by default, Redis when WECHAT_TOKEN_REDIS_URL is set (shops that already run
Redis, or several servers sharing one token without sharing a database write per refresh).

A store keeps, per name, the value and when it expires, and a lease that one process holds
while it fetches a new value. `claim` takes the lease only when the lease is free and the
value is still due (missing, near its end, or the `stale` one WeChat refused), in one atomic
step: a process that read the value before another stored a new one must not fetch again.

Either store fails as TokenUnavailable when it cannot be reached, which every caller already
treats as "no token now".
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

import sqlalchemy as sa

from app.models import WeChatApiToken
from app.models.base import insert_or_ignore, utcnow
from app.transactions import writing_apart

REFRESH_BEFORE = timedelta(minutes=5)
LEASE = timedelta(seconds=20)


class TokenUnavailable(Exception):
    """No token now: another process is fetching it and did not finish in time, or the store
    cannot be reached."""


@dataclass(frozen=True)
class Stored:
    value: str
    expires_at: datetime


class TokenStore(Protocol):
    def read(self, name: str) -> Stored | None: ...

    def claim(self, name: str, stale: str | None) -> bool: ...

    def put(self, name: str, value: str, expires_at: datetime) -> None: ...

    def release(self, name: str) -> None: ...


def store_for(config) -> TokenStore:
    url = config.get("WECHAT_TOKEN_REDIS_URL")
    return RedisStore(url) if url else DatabaseStore()


# --- the database (wechat_api_tokens) ----------------------------------------------------------

_table = WeChatApiToken.__table__


class DatabaseStore:
    """One row per name; every statement on a connection of its own (writing_apart), so a
    token is shared at once and never waits on the request's transaction."""

    def read(self, name: str) -> Stored | None:
        with writing_apart() as connection:
            row = connection.execute(
                sa.select(_table.c.value, _table.c.expires_at).where(_table.c.name == name)
            ).first()
        return Stored(row.value, row.expires_at) if row is not None and row.value else None

    def claim(self, name: str, stale: str | None) -> bool:
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

    def put(self, name: str, value: str, expires_at: datetime) -> None:
        with writing_apart() as connection:
            connection.execute(
                sa.update(_table)
                .where(_table.c.name == name)
                .values(value=value, expires_at=expires_at, refreshing_until=None)
            )

    def release(self, name: str) -> None:
        with writing_apart() as connection:
            connection.execute(
                sa.update(_table).where(_table.c.name == name).values(refreshing_until=None)
            )


# --- Redis ------------------------------------------------------------------------------------

KEY_PREFIX = "shop:wechat:"

# KEYS: the token's hash, its lease. ARGV: "due before" (epoch seconds), the stale value or
# "", the lease in milliseconds. The lease is taken only if the token is due, atomically.
_CLAIM = """
local stored = redis.call('HMGET', KEYS[1], 'value', 'expires_at')
local due = (not stored[1]) or (tonumber(stored[2]) <= tonumber(ARGV[1]))
    or (ARGV[2] ~= '' and stored[1] == ARGV[2])
if not due then return 0 end
if redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[3]) then return 1 end
return 0
"""


class RedisStore:
    """A hash per name (value, expires_at as epoch seconds) that Redis drops when it
    expires, and a lease key set with NX and a time to live."""

    def __init__(self, url: str):
        import redis  # only shops that configure Redis need the client at all

        self._errors = (redis.RedisError,)
        self._redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._claim = self._redis.register_script(_CLAIM)

    def read(self, name: str) -> Stored | None:
        value, expires_at = self._call(self._redis.hmget, _key(name), ["value", "expires_at"])
        if not value or not expires_at:
            return None
        return Stored(value.decode(), datetime.fromtimestamp(float(expires_at), UTC))

    def claim(self, name: str, stale: str | None) -> bool:
        due_before = (utcnow() + REFRESH_BEFORE).timestamp()
        lease_ms = int(LEASE.total_seconds() * 1000)
        keys = [_key(name), _key(name) + ":lease"]
        return self._call(self._claim, keys=keys, args=[due_before, stale or "", lease_ms]) == 1

    def put(self, name: str, value: str, expires_at: datetime) -> None:
        pipe = self._redis.pipeline()
        pipe.hset(_key(name), mapping={"value": value, "expires_at": expires_at.timestamp()})
        pipe.expireat(_key(name), int(expires_at.timestamp()) + 1)
        pipe.delete(_key(name) + ":lease")
        self._call(pipe.execute)

    def release(self, name: str) -> None:
        self._call(self._redis.delete, _key(name) + ":lease")

    def _call(self, method, *args, **kwargs):
        try:
            return method(*args, **kwargs)
        except self._errors as error:
            raise TokenUnavailable(f"Redis: {type(error).__name__}") from error


def _key(name: str) -> str:
    return KEY_PREFIX + name
