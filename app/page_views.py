"""Counting product page views for the funnel without a database write per view.

Views are counted in memory per process and added to `page_views_daily` in one batch every
PAGE_VIEW_FLUSH_SECONDS, after the response has gone. The count runs before the page cache
(cached pages are most of the views) and costs a dictionary increment. A crash loses at
most one interval of counts, which a funnel can afford.
"""

import threading
import time
from collections import Counter
from datetime import date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app, request

from app.extensions import db
from app.models import PageViewsDaily, Product
from app.models.base import upsert_adding

COUNTED_ENDPOINT = "storefront.product"


class ViewCounter:
    def __init__(self, timezone: str, interval: float):
        self.timezone = ZoneInfo(timezone)
        self.interval = interval
        self._counts: Counter[tuple[date, str]] = Counter()
        self._lock = threading.Lock()
        self._flushed_at = time.monotonic()

    def record(self, slug: str, at: datetime) -> None:
        with self._lock:
            self._counts[(at.astimezone(self.timezone).date(), slug)] += 1

    def due(self) -> bool:
        return bool(self._counts) and time.monotonic() - self._flushed_at >= self.interval

    def take(self) -> Counter:
        with self._lock:
            counts, self._counts = self._counts, Counter()
            self._flushed_at = time.monotonic()
        return counts


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
    if request.method == "GET" and request.endpoint == COUNTED_ENDPOINT and request.view_args:
        _counter().record(request.view_args["slug"], datetime.now().astimezone())


def _flush_if_due(error=None) -> None:
    if _counter().due():
        flush()


def flush() -> None:
    """Add the counted views to the rollup now (also used by tests and the bench)."""
    counts = _counter().take()
    if not counts:
        return
    slugs = {slug for _, slug in counts}
    # Its own connection and transaction: the request's session is done with by now.
    with db.engine.begin() as connection:
        found = sa.select(Product.slug, Product.id).where(Product.slug.in_(slugs))
        ids = dict(connection.execute(found).all())
        rows = [
            {"day": day, "product_key": ids[slug], "views": n}
            for (day, slug), n in counts.items()
            if slug in ids  # a mistyped slug is a 404, not a view
        ]
        if rows:
            connection.execute(
                upsert_adding(PageViewsDaily.__table__, ("day", "product_key"), ("views",)),
                rows,
            )
