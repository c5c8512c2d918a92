"""Rendered catalog pages, kept in memory per process and shared by everyone they fit.

A catalog page is the same for every visitor but for a few facts about the reader: what
they own, where they are in a course. So a page is rendered once per catalog change and
per set of those facts: the key carries the shop's content_version, which every catalog
change bumps (read from the database at most once per PAGE_CACHE_VERSION_TTL seconds per
process), and the facts a view's `reader_facts` function gives (read with the reader's
session, in one statement). Pages that show a supporter wall (`shows_walls`) carry the
walls_version too, which tips bump: a busy hour of tips renews the item pages' walls, not
every page of the shop.

- Anonymous visitors (no session cookie, not inside WeChat) share one page: a hit touches
  no database at all.
- A signed-in reader (inside WeChat, every reader is) gets the page rendered for their
  facts: readers who own the same things share it, and a reader coming back gets theirs
  without a render. The facts must name everything of the reader's that the page shows.
- The creator, anyone with a flash message waiting, and a browser whose session holds one of
  the keys given to init_app (pages that show something of that session on every page, such
  as WeChat's snapshot-page banner) always get a fresh page.

Hits are served by the cache's own hook, before every other but the silent WeChat sign-in.

What a page records each time it is shown (recommendation impressions) is kept with it and
replayed on every hit.
"""

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from functools import wraps

from flask import current_app, g, make_response, request, session
from flask_login.config import COOKIE_NAME

from app.analytics import counters
from app.catalog import queries


class PageCache:
    """A bounded LRU of rendered pages: at most max_entries pages and max_bytes of bodies."""

    def __init__(self, max_entries: int, version_ttl: float, max_bytes: int):
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.version_ttl = version_ttl
        self._entries: OrderedDict = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._versions: tuple[Hashable, int] | None = None
        self._versions_read_at = 0.0

    def versions(self) -> tuple[Hashable, int]:
        """queries.page_versions() as last read, at most version_ttl seconds old."""
        now = time.monotonic()
        if self._versions is None or now - self._versions_read_at >= self.version_ttl:
            self._versions = queries.page_versions()
            self._versions_read_at = now
        return self._versions

    def get(self, key):
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key, entry) -> None:
        size = len(entry[0])
        if size > self.max_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= len(old[0])
            self._entries[key] = entry
            self._bytes += size
            while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
                _, dropped = self._entries.popitem(last=False)
                self._bytes -= len(dropped[0])


def _cache() -> PageCache | None:
    size = current_app.config["PAGE_CACHE_SIZE"]
    if not size:
        return None
    cache = current_app.extensions.get("page_cache")
    if cache is None:
        ttl = current_app.config["PAGE_CACHE_VERSION_TTL"]
        budget = current_app.config["PAGE_CACHE_MAX_BYTES"]
        cache = current_app.extensions["page_cache"] = PageCache(size, ttl, budget)
    return cache


def _anonymous() -> bool:
    return (
        request.method == "GET"
        and current_app.config["SESSION_COOKIE_NAME"] not in request.cookies
        and "MicroMessenger" not in request.headers.get("User-Agent", "")
    )


def init_app(app, private_session_keys: tuple[str, ...] = ()) -> None:
    """Serve hits before any other before_request hook but the silent WeChat sign-in (the
    rate limiter's and CSRF's included): a hit costs a dictionary lookup, and for a
    signed-in reader the one statement that reads their facts. Call before other extensions
    register. A session holding any of `private_session_keys` is never served a shared page."""
    app.extensions["page_cache_private_keys"] = ("_flashes", *private_session_keys)
    app.before_request(_serve_cached_page)


def _serve_cached_page():
    view = current_app.view_functions.get(request.endpoint)
    if not getattr(view, "page_cached", False):
        return None
    cache = _cache()
    if cache is None:
        return None
    facts = _facts_key(view.reader_facts, request.view_args or {})
    if facts is _NOT_SHARED:
        return None
    entry = cache.get(_key(_version_of(view.shows_walls, cache.versions()), facts))
    if entry is None:
        return None  # the view renders it, and stores it (see cached_page)
    response = _replay(entry)
    if view.on_show is not None:
        view.on_show(**request.view_args)
    return response


_NOT_SHARED = object()


def _facts_key(reader_facts: Callable[..., Hashable], view_args: dict):
    """What this visitor's copy of the page is stored under besides the address: nothing for
    an anonymous visitor, the reader's facts for a signed-in reader; _NOT_SHARED for the
    creator and anyone with a message waiting, whose page is always rendered afresh."""
    if _anonymous():
        return None
    if _signed_in_cacheable():
        return ("reader", reader_facts_of(reader_facts, view_args))
    return _NOT_SHARED


def _version_of(shows_walls: bool, versions: tuple[Hashable, int]) -> Hashable:
    """What of the shop's versions a page depends on: the catalog's, and the walls' if it
    shows one."""
    return versions if shows_walls else versions[0]


def _key(version: Hashable, facts: Hashable = None):
    # Pages hold absolute URLs (og: tags, share links) built from the request's scheme and
    # host: one visitor's forged Host must not reach another's page (see public_address.py).
    # The query string is left out: cached views never read it (?ref= is counted before the
    # view runs, and WeChat's share links add ?from=... of their own).
    return (request.host_url, request.path, version, facts)


def _signed_in_cacheable() -> bool:
    private_keys = current_app.extensions["page_cache_private_keys"]
    return (
        request.method == "GET"
        and not any(key in session for key in private_keys)
        and not _maybe_the_creator()
    )


def _maybe_the_creator() -> bool:
    """The creator sees drafts and more: never a shared page. Asked of flask-login's own
    keys, the session's user id and its remember-me cookie, without loading anyone (a
    reader's page need not pay for it, nor have flask-login note `_fresh` in its session)."""
    remember_cookie = current_app.config.get("REMEMBER_COOKIE_NAME", COOKIE_NAME)
    return "_user_id" in session or remember_cookie in request.cookies


def cached_page(
    reader_facts: Callable[..., Hashable],
    on_show: Callable[..., None] | None = None,
    shows_walls: bool = False,
):
    """Mark a view whose page depends on the reader only through `reader_facts(**view_args)`.

    The facts function runs once per request (views call it again to render: it is
    memoised in `g` by `reader_facts_of`). Hits never reach the view: they are served by
    the cache's own hook. Only a plain 200 that put nothing in the session of an anonymous
    visitor is stored. `on_show(**view_args)` is what a reader's visit records besides
    (reading progress): it runs after every 200, rendered or served from the cache.
    `shows_walls`: the page shows a supporter wall, so a change to the walls renews it.
    """

    def decorate(view):
        @wraps(view)
        def wrapper(**view_args):
            response = _render(view, reader_facts, view_args, shows_walls)
            if on_show is not None and response.status_code == 200 and request.method == "GET":
                on_show(**view_args)
            return response

        wrapper.page_cached = True
        wrapper.reader_facts = reader_facts
        wrapper.on_show = on_show
        wrapper.shows_walls = shows_walls
        return wrapper

    return decorate


def _render(view, reader_facts, view_args, shows_walls: bool):
    """A page the cache did not hold (or may not share): rendered, and stored when it may be."""
    cache = _cache()
    facts = _NOT_SHARED if cache is None else _facts_key(reader_facts, view_args)
    if facts is _NOT_SHARED:
        return make_response(view(**view_args))
    # The version this render reads the catalog at, from the request's own transaction (the
    # held one may already be newer than what this render sees).
    version = _version_of(shows_walls, queries.page_versions())
    response = make_response(view(**view_args))
    if _storable(response, anonymous=facts is None):
        entry = (response.get_data(), list(response.headers.items()), g.get("impressions", []))
        cache.put(_key(version, facts), entry)
    return response


def _storable(response, anonymous: bool) -> bool:
    """A plain 200 that is nobody's in particular: no session of its own for an anonymous
    visitor, and nothing of the reader's beyond the facts (the page did not look at the
    reader, nor make a CSRF token)."""
    if response.status_code != 200:
        return False
    if anonymous:
        return not session
    return not g.get("page_is_personal") and "csrf_token" not in g


def mark_personal() -> None:
    """This page showed something of the reader beyond the facts: never share it."""
    g.page_is_personal = True


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
