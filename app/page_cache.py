"""Rendered catalog pages for anonymous visitors, kept in memory per process.

Most traffic is people who have never signed in looking at the home and product pages,
which are the same for all of them. Those pages are rendered once per catalog change:
the key carries the shop's content_version, which every catalog change bumps, so a stale
page is never served. Anyone with a session (a reader, the creator, a pending flash
message) gets a freshly rendered page.
"""

import threading
from collections import OrderedDict
from functools import wraps

from flask import current_app, make_response, request, session

from app import catalog


class PageCache:
    def __init__(self, max_entries: int):
        self.max_entries = max_entries
        self._entries: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

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
        cache = current_app.extensions["page_cache"] = PageCache(size)
    return cache


def _anonymous() -> bool:
    return (
        request.method == "GET"
        and current_app.config["SESSION_COOKIE_NAME"] not in request.cookies
        and "MicroMessenger" not in request.headers.get("User-Agent", "")
    )


def cached_for_anonymous(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        cache = _cache()
        if cache is None or not _anonymous():
            return view(*args, **kwargs)
        key = (request.path, request.query_string, catalog.content_version())
        entry = cache.get(key)
        if entry is not None:
            body, headers = entry
            return current_app.response_class(body, 200, headers)
        response = make_response(view(*args, **kwargs))
        # Only a plain 200 that put nothing in the session is the same for every visitor.
        if response.status_code == 200 and not session:
            cache.put(key, (response.get_data(), list(response.headers.items())))
        return response

    return wrapper
