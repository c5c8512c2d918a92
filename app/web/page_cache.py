"""Rendered catalog pages, kept in memory per process and shared by everyone they fit.

A catalog page is the same for every visitor but for a few facts about the reader: what
they own, where they are in a course. So a page is rendered once per catalog change and
per set of those facts: the key carries the shop's content_version, which every catalog
change bumps (read from the database at most once per PAGE_CACHE_VERSION_TTL seconds per
process), and the facts a view's `reader_facts` function computes with a query or two.

- Anonymous visitors (no session cookie, not inside WeChat) share one page, served before
  any other hook: a hit touches no database at all.
- A signed-in reader (inside WeChat, every reader is) gets the page rendered for their
  facts: readers who own the same things share it, and a reader coming back gets theirs
  without a render. The facts must name everything of the reader's that the page shows.
- The creator, and anyone with a flash message waiting, always gets a fresh page.

What a page records each time it is shown (recommendation impressions) is kept with it and
replayed on every hit.
"""

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from functools import wraps

from flask import current_app, g, make_response, request, session
from flask_login import current_user

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
    return None if entry is None else _replay(entry)


def _key(cache: PageCache, facts: Hashable = None):
    # Pages hold absolute URLs (og: tags, share links) built from the request's scheme and
    # host: one visitor's forged Host must not reach another's page (see public_address.py).
    return (request.host_url, request.path, request.query_string, cache.content_version(), facts)


def _signed_in_cacheable() -> bool:
    return (
        request.method == "GET"
        and "_flashes" not in session
        and not current_user.is_authenticated  # the creator sees drafts and more
    )


def cached_page(reader_facts: Callable[..., Hashable], on_show: Callable[..., None] | None = None):
    """Mark a view whose page depends on the reader only through `reader_facts(**view_args)`.

    The facts function runs once per request (views call it again to render: it is
    memoised in `g` by `reader_facts_of`). Only a plain 200 that put nothing in the session
    of an anonymous visitor is stored; hits of anonymous visitors never reach the view.
    `on_show(**view_args)` is what a reader's visit records besides (reading progress): it
    runs after every 200 that reaches this wrapper, rendered or served from the cache.
    """

    def decorate(view):
        @wraps(view)
        def wrapper(**view_args):
            response = _answer(view, view_args)
            if on_show is not None and response.status_code == 200:
                on_show(**view_args)
            return response

        def _answer(view, view_args):
            cache = _cache()
            if cache is None:
                return make_response(view(**view_args))
            anonymous = _anonymous()
            if anonymous:
                key = _key(cache)
            elif _signed_in_cacheable():
                key = _key(cache, ("reader", reader_facts_of(reader_facts, view_args)))
                entry = cache.get(key)
                if entry is not None:
                    return _replay(entry)
            else:
                return make_response(view(**view_args))
            response = make_response(view(**view_args))
            if response.status_code == 200 and not (anonymous and session):
                entry = (
                    response.get_data(),
                    list(response.headers.items()),
                    g.get("impressions", []),
                )
                cache.put(key, entry)
            return response

        wrapper.page_cached = True
        return wrapper

    return decorate


def reader_facts_of(reader_facts: Callable[..., Hashable], view_args: dict) -> Hashable:
    """The facts for this request, computed once whether the cache or the view asks first."""
    memo = g.setdefault("reader_facts", {})
    if reader_facts not in memo:
        memo[reader_facts] = reader_facts(**view_args)
    return memo[reader_facts]


def _replay(entry):
    body, headers, impressions = entry
    for slot, slugs in impressions:  # what the page shows counts each time it is shown
        counters.record_impressions(slot, slugs)
    return current_app.response_class(body, 200, headers)
