"""Rendered catalog pages for anonymous visitors, kept in memory per process.

Most traffic is people who have never signed in looking at the home and product pages,
which are the same for all of them. Those pages are rendered once per catalog change:
the key carries the shop's content_version, which every catalog change bumps. The version
is read from the database at most once per PAGE_CACHE_VERSION_TTL seconds per process, so a
cache hit touches no database at all and a change shows within that many seconds. Anyone
with a session (a reader, the creator, a pending flash message) gets a fresh page.
"""

import threading
import time
from collections import OrderedDict
from functools import wraps

from flask import current_app, g, make_response, request, session

from app.analytics import counters
from app.catalog import queries


class PageCache:
    def __init__(self, max_entries: int, version_ttl: float):
        self.max_entries = max_entries
        self.version_ttl = version_ttl
        self._entries: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self._version: int | None = None
        self._version_read_at = 0.0

    def content_version(self) -> int:
        now = time.monotonic()
        if self._version is None or now - self._version_read_at >= self.version_ttl:
            self._version = queries.content_version()
            self._version_read_at = now
        return self._version

    def get(self, key):
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key, entry) -> None:
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)


def _cache() -> PageCache | None:
    size = current_app.config["PAGE_CACHE_SIZE"]
    if not size:
        return None
    cache = current_app.extensions.get("page_cache")
    if cache is None:
        ttl = current_app.config["PAGE_CACHE_VERSION_TTL"]
        cache = current_app.extensions["page_cache"] = PageCache(size, ttl)
    return cache


def _anonymous() -> bool:
    return (
        request.method == "GET"
        and current_app.config["SESSION_COOKIE_NAME"] not in request.cookies
        and "MicroMessenger" not in request.headers.get("User-Agent", "")
    )


def init_app(app) -> None:
    """Serve hits before any other before_request hook (the rate limiter's included):
    a cached page costs only a dictionary lookup. Call before other extensions register."""
    app.before_request(_serve_cached_page)


def _serve_cached_page():
    view = current_app.view_functions.get(request.endpoint)
    if not getattr(view, "page_cached", False):
        return None
    cache = _cache()
    if cache is None or not _anonymous():
        return None
    entry = cache.get(_key(cache))
    if entry is None:
        return None
    body, headers, impressions = entry
    for slot, slugs in impressions:  # what the page shows counts each time it is shown
        counters.record_impressions(slot, slugs)
    return current_app.response_class(body, 200, headers)


def _key(cache: PageCache):
    # Pages hold absolute URLs (og: tags, share links) built from the request's scheme and
    # host: one visitor's forged Host must not reach another's page (see public_address.py).
    return (request.host_url, request.path, request.query_string, cache.content_version())


def cached_for_anonymous(view):
    """Mark a view whose anonymous answer may be cached; hits never reach it."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        response = make_response(view(*args, **kwargs))
        cache = _cache()
        # Only a plain 200 that put nothing in the session is the same for every visitor.
        if cache is not None and _anonymous() and response.status_code == 200 and not session:
            entry = (response.get_data(), list(response.headers.items()), g.get("impressions", []))
            cache.put(_key(cache), entry)
        return response

    wrapper.page_cached = True
    return wrapper
