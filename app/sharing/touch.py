"""Noting the touch a tagged link makes (`?via=<source>&by=<sharer code>`), and reading it back
when an order is placed.

The touch lives in the session cookie: no database write for a page view, and a visitor who
never buys costs nothing. The hook runs before the page cache, so a cached page notes it too;
the page itself never reads the tag (the cache leaves the query string out of its key).
"""

from datetime import UTC, datetime, timedelta

from flask import current_app, request, session

from app.accounts.session import TOUCH_KEY
from app.payments import attribution
from app.readers import sharer_codes


def init_app(app) -> None:
    """Register before the page cache, so cached pages note their touch too."""
    app.before_request(note_touch)


def note_touch() -> None:
    via = request.args.get("via")
    if request.method != "GET" or not via:
        return
    sharer = sharer_codes.sharer_id(current_app.secret_key, request.args.get("by"))
    touch = attribution.touch_from_link(via, sharer, datetime.now(UTC))
    if touch is not None:
        session[TOUCH_KEY] = touch.to_cookie()


def current_attribution(buyer_id: int) -> attribution.Attribution:
    """What this browser's last touch credits an order by `buyer_id` placed now with."""
    window = timedelta(days=current_app.config["ATTRIBUTION_WINDOW_DAYS"])
    touch = attribution.Touch.from_cookie(session.get(TOUCH_KEY))
    return attribution.attribution_for(touch, buyer_id, datetime.now(UTC), window)
