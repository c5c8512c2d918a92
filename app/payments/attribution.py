"""What brought a reader to buy: the last touch within a window (ATTRIBUTION_WINDOW_DAYS).

A touch is a page opened from a tagged link: the 公众号's menu, its replies and search
answers, a share card or a poster. The newest touch wins; an order placed within the window
after it records its source and sharer, any other order is `direct`. A reader's own link
never makes them their own sharer.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from app.models import OrderSource

# What a link may say it came from (`?via=`); `direct` is the absence of a touch.
TAGGED = frozenset(OrderSource) - {OrderSource.DIRECT}
# Sources that carry a sharer (`&by=<sharer code>`).
SHARED = frozenset({OrderSource.SHARE, OrderSource.POSTER})


@dataclass(frozen=True)
class Attribution:
    source: OrderSource = OrderSource.DIRECT
    sharer_id: int | None = None


DIRECT = Attribution()


@dataclass(frozen=True)
class Touch:
    source: OrderSource
    sharer_id: int | None
    at: datetime

    def to_cookie(self) -> list:
        return [self.source.value, self.sharer_id, int(self.at.timestamp())]

    @classmethod
    def from_cookie(cls, value) -> "Touch | None":
        """The touch a session holds; None for anything else (an old or altered cookie)."""
        try:
            source, sharer_id, seconds = value
            touch = cls(OrderSource(source), sharer_id, datetime.fromtimestamp(seconds, UTC))
        except (TypeError, ValueError, OverflowError, OSError):
            return None
        if touch.source is OrderSource.DIRECT or not isinstance(sharer_id, int | None):
            return None
        return touch


def touch_from_link(via: str | None, sharer_id: int | None, now: datetime) -> Touch | None:
    """The touch a link's `via` (and checked sharer) makes, if it is one the shop tags."""
    try:
        source = OrderSource(via)
    except ValueError:
        return None
    if source not in TAGGED:
        return None
    return Touch(source, sharer_id if source in SHARED else None, now)


def attribution_for(
    touch: Touch | None, buyer_id: int, now: datetime, window: timedelta
) -> Attribution:
    if touch is None or not (now - window <= touch.at <= now + timedelta(minutes=5)):
        return DIRECT
    sharer_id = touch.sharer_id if touch.sharer_id != buyer_id else None
    return Attribution(touch.source, sharer_id)
