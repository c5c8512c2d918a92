"""WeChat's access token, one for every worker, process and server of the shop.

WeChat hands out one access token at a time per AppID: fetching a new one retires the old
within five minutes, and fetches count against a daily quota. So the token lives in a store
every process sees (the database's `wechat_api_tokens` by default, Redis when
WECHAT_TOKEN_REDIS_URL is set: app/wechat/token_stores.py), is never fetched per request,
and is refreshed by one process at a time:

- a token with more than REFRESH_BEFORE left is used as it is;
- otherwise a process claims the token's lease (a short write), fetches a new token without
  holding any lock (the fetch is a network call), and stores it;
- a process that finds the lease held keeps using the current token while it is valid, or
  waits for the new one (at most LEASE);
- WeChat calling a token invalid (40001, 40014, 42001) refreshes at once, unless another
  process already has.
"""

import time
from collections.abc import Callable
from datetime import timedelta

from flask import current_app

from app.models.base import utcnow
from app.wechat.token_stores import (
    LEASE,
    REFRESH_BEFORE,
    Stored,
    TokenStore,
    TokenUnavailable,
    store_for,
)

WAIT_STEP = 0.1  # seconds between looks while another process fetches

# Fetches a new token: (value, lifetime in seconds). Raises when WeChat refuses.
Fetch = Callable[[], tuple[str, int]]

__all__ = ["REFRESH_BEFORE", "TokenUnavailable", "current", "refresh"]


def current(name: str, fetch: Fetch) -> str:
    """The token under `name`, fetched or refreshed first if it is due."""
    stored = _store().read(name)
    if stored is not None and _fresh(stored):
        return stored.value
    return refresh(name, fetch)


def refresh(name: str, fetch: Fetch, stale: str | None = None) -> str:
    """A new token, unless one newer than `stale` (the one WeChat refused) is already stored
    and not due; fetched by this process if it can claim the lease, else waited for."""
    store = _store()
    deadline = time.monotonic() + LEASE.total_seconds()
    while True:
        stored = store.read(name)
        if stored is not None and stored.value != stale and _fresh(stored):
            return stored.value
        if store.claim(name, stale):
            return _fetch_and_store(store, name, fetch)
        if stored is not None and stored.value != stale and _usable(stored):
            return stored.value  # another process is refreshing; this one is still good
        if time.monotonic() >= deadline:
            raise TokenUnavailable(name)
        time.sleep(WAIT_STEP)


def _store() -> TokenStore:
    app = current_app._get_current_object()
    store = app.extensions.get("wechat_token_store")
    if store is None:
        store = app.extensions["wechat_token_store"] = store_for(app.config)
    return store


def _fresh(stored: Stored) -> bool:
    return stored.expires_at - utcnow() > REFRESH_BEFORE


def _usable(stored: Stored) -> bool:
    return stored.expires_at > utcnow()


def _fetch_and_store(store: TokenStore, name: str, fetch: Fetch) -> str:
    try:
        value, lifetime = fetch()
    except BaseException:
        store.release(name)
        raise
    store.put(name, value, utcnow() + timedelta(seconds=lifetime))
    return value
