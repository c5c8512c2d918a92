"""Counting what readers see without a database write per page: product page views (the
funnel) and recommendation slots' impressions and clicks.

Counts are kept in memory per process and added to `page_views_daily` / `rec_slot_daily` in
one batch every PAGE_VIEW_FLUSH_SECONDS, after the response has gone. Views are counted
before the page cache (cached pages are most of the views), and a cached page replays the
impressions it was rendered with. A crash loses at most one interval of counts, which a
funnel can afford. A flush that fails (the database locked or down) never fails the page
it runs after: it is logged, and its counts wait for the next flush.

A click is a product page opened with `?ref=<slot>`; the slot is also remembered in the
session, so a purchase that follows is credited to it.
"""

import threading
import time
from collections import Counter
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app, g, request, session

from app.extensions import db
from app.models import PageViewsDaily, Product, RecSlotDaily
from app.models.base import upsert_adding
from app.transactions import writing_apart

COUNTED_ENDPOINT = "storefront.product"
SLOTS = ("also_bought", "related", "for_you", "popular")
REMEMBERED_REFS = 20  # the session keeps the slot of this many recently clicked items
VIEW, IMPRESSION, CLICK = "view", "impression", "click"


class ViewCounter:
    def __init__(self, timezone: str, interval: float):
        self.timezone = ZoneInfo(timezone)
        self.interval = interval
        # (what, shop day, slot, product slug) -> count; the slot is "" for a plain view.
        self._counts: Counter[tuple[str, date, str, str]] = Counter()
        self._lock = threading.Lock()
        self._flushed_at = time.monotonic()

    def record(self, what: str, slot: str, slugs, at: datetime) -> None:
        day = at.astimezone(self.timezone).date()
        with self._lock:
            for slug in slugs:
                self._counts[(what, day, slot, slug)] += 1

    def due(self) -> bool:
        return bool(self._counts) and time.monotonic() - self._flushed_at >= self.interval

    def take(self) -> Counter:
        with self._lock:
            counts, self._counts = self._counts, Counter()
            self._flushed_at = time.monotonic()
        return counts

    def give_back(self, counts: Counter) -> None:
        """Counts a flush could not write, added to those counted since (tried again after
        an interval, not at once: a database in trouble is not asked on every page)."""
        with self._lock:
            self._counts.update(counts)


def init_app(app) -> None:
    """Register before the page cache, so cached pages are counted too."""
    app.extensions["page_views"] = ViewCounter(
        app.config["SHOP_TIMEZONE"], app.config["PAGE_VIEW_FLUSH_SECONDS"]
    )
    app.before_request(_count_view)
    app.teardown_request(_flush_if_due)


def _counter() -> ViewCounter:
    return current_app.extensions["page_views"]


def _count_view() -> None:
    if request.method != "GET" or request.endpoint != COUNTED_ENDPOINT or not request.view_args:
        return
    slug = request.view_args["slug"]
    now = datetime.now(UTC)
    _counter().record(VIEW, "", [slug], now)
    slot = request.args.get("ref")
    if slot in SLOTS:
        _counter().record(CLICK, slot, [slug], now)
        refs = {k: v for k, v in session.get("rec_refs", {}).items() if k != slug}
        refs[slug] = slot
        session["rec_refs"] = dict(list(refs.items())[-REMEMBERED_REFS:])


def record_impressions(slot: str, slugs: list[str]) -> None:
    """A slot was shown with these items (views call it; cached pages replay it)."""
    if slugs:
        _counter().record(IMPRESSION, slot, slugs, datetime.now(UTC))
        g.setdefault("impressions", []).append((slot, list(slugs)))


def clicked_slot(slug: str) -> str | None:
    """The slot this reader last clicked this item from, if any (credited with a purchase)."""
    return session.get("rec_refs", {}).get(slug)


def _flush_if_due(error=None) -> None:
    if _counter().due():
        # The request is over: end its transaction first (what it left uncommitted is
        # discarded anyway), or on SQLite the flush would wait for its own request's lock.
        db.session.remove()
        flush()


def flush() -> None:
    """Add the counts to the rollups now (also used by tests and the bench).

    Runs after a response: whatever goes wrong is logged, not raised, and the counts are
    kept for the next flush (nothing was written: the batch is one transaction).
    """
    counter = _counter()
    counts = counter.take()
    if not counts:
        return
    try:
        _write(counts)
    except Exception:
        counter.give_back(counts)
        current_app.logger.exception("page views not flushed; kept for the next flush")


def _write(counts: Counter) -> None:
    slugs = {slug for _, _, _, slug in counts}
    # Its own connection and transaction: the request's session is done with by now. It
    # reads, then writes, so on SQLite it takes the write lock first (see app.transactions).
    with writing_apart() as connection:
        found = sa.select(Product.slug, Product.id).where(Product.slug.in_(slugs))
        ids = dict(connection.execute(found).all())
        views, slots = [], {}
        for (what, day, slot, slug), n in counts.items():
            if slug not in ids:
                continue  # a mistyped slug is a 404, not a view
            if what == VIEW:
                views.append({"day": day, "product_key": ids[slug], "views": n})
            else:
                row = slots.setdefault(
                    (day, slot, ids[slug]),
                    {
                        "day": day,
                        "slot": slot,
                        "product_key": ids[slug],
                        "impressions": 0,
                        "clicks": 0,
                    },
                )
                row["impressions" if what == IMPRESSION else "clicks"] += n
        if views:
            connection.execute(
                upsert_adding(PageViewsDaily.__table__, ("day", "product_key"), ("views",)),
                views,
            )
        if slots:
            connection.execute(
                upsert_adding(
                    RecSlotDaily.__table__,
                    ("day", "slot", "product_key"),
                    ("impressions", "clicks"),
                ),
                list(slots.values()),
            )
