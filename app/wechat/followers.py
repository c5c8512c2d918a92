"""Who follows the 公众号, and when they last interacted: what decides how a message reaches them.

WeChat lets the shop send
- a template message (模板消息) to a follower, at any time;
- a customer-service message (客服消息) within 48 hours of the user's last interaction with the
  account: a message sent to it, following it, scanning its QR code, a menu click that sends
  an event. Unfollowing ends the window.

The callback tells this module of every message and event it receives (`note`); a user the
shop never heard from is looked up with user/info by the sender (`record_subscribed`), and a
template message WeChat refuses with "not a follower" corrects what the shop believed.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from app.extensions import db
from app.models import WeChatFollower
from app.models.base import upsert_replacing, utcnow
from app.transactions import writing_apart

WINDOW = timedelta(hours=48)
# The events that open the window besides following (WeChat's list): scanning the account's
# QR code while following, and the three menu buttons that push an event. Opening a menu link
# (view), a reported location and a template message's delivery report do not.
OPENING_EVENTS = {"scan", "click", "scancode_push", "scancode_waitmsg"}
FOLLOW_EVENTS = {"subscribe", "subscribe_scan"}

_table = WeChatFollower.__table__


@dataclass(frozen=True)
class Follower:
    openid: str
    subscribed: bool | None  # None: never told
    last_interaction_at: datetime | None

    def in_window(self, now: datetime) -> bool:
        """Whether a customer-service message may reach them now."""
        return self.last_interaction_at is not None and now - self.last_interaction_at < WINDOW


def note(message) -> None:
    """Remember what a message or event from the callback says about its sender."""
    now = utcnow()
    row = {"openid": message.source[:64]}
    if message.type != "event":
        row["last_interaction_at"] = now  # the user wrote to the account
    elif message.event in FOLLOW_EVENTS:
        row |= {"subscribed": True, "subscribed_known_at": now, "last_interaction_at": now}
    elif message.event == "unsubscribe":
        row |= {"subscribed": False, "subscribed_known_at": now, "last_interaction_at": None}
    elif message.event in OPENING_EVENTS:
        row["last_interaction_at"] = now
    else:
        return
    _write(row)


def record_subscribed(openid: str, subscribed: bool) -> None:
    """What WeChat said when asked (user/info), or implied by refusing a template message.
    The window is left as it is: only unfollowing, which the callback sees, closes it."""
    _write({"openid": openid, "subscribed": subscribed, "subscribed_known_at": utcnow()})


def state(openid: str) -> Follower | None:
    """What the shop knows of this user now (on a connection of its own, so a sender sees what
    it recorded a moment ago, whatever its session was reading)."""
    with db.engine.connect() as connection:
        row = connection.execute(_STATE, {"openid": openid}).first()
    if row is None:
        return None
    return Follower(openid, row.subscribed, row.last_interaction_at)


_STATE = sa.select(_table.c.subscribed, _table.c.last_interaction_at).where(
    _table.c.openid == sa.bindparam("openid")
)


def recent(limit: int = 5) -> list[Follower]:
    """The users who interacted last: how a creator finds their own openid (they write to the
    account, and are at the top)."""
    rows = db.session.execute(
        sa.select(_table.c.openid, _table.c.subscribed, _table.c.last_interaction_at)
        .where(_table.c.last_interaction_at.is_not(None))
        .order_by(_table.c.last_interaction_at.desc())
        .limit(limit)
    ).all()
    return [Follower(row.openid, row.subscribed, row.last_interaction_at) for row in rows]


def _write(row: dict) -> None:
    columns = tuple(key for key in row if key != "openid")
    with writing_apart() as connection:
        connection.execute(upsert_replacing(_table, ("openid",), columns), row)
