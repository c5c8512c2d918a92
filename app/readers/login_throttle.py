"""The creator's login throttle: failed attempts, counted in the database per IP and per username.

In the database, so every gunicorn worker (and every server) counts the same attempts:
memory:// counters let each of N workers allow the full limit. Per IP (CREATOR_LOGIN_LIMIT)
slows one guesser; per username (CREATOR_LOGIN_USERNAME_LIMIT) slows a guesser with many IPs.
The per-username limit also stops the real creator, so it is short: a lockout ends when the
oldest failure in its window ages out, and the page says when. A successful login clears the
username's failures. Only failures count: the creator's own successful logins cost nothing.

Limits are written as flask-limiter's ("5 per minute;30 per hour").
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

import limits
import sqlalchemy as sa

from app.extensions import db
from app.models import LoginFailure
from app.models.base import utcnow

# Failures older than this are deleted as new ones come in: no limit looks further back.
KEEP_FOR = timedelta(days=1)
USERNAME_KEPT = 40  # LoginFailure.username's column; usernames are no longer


@dataclass(frozen=True)
class Refusal:
    retry_after: int  # seconds
    per_username: bool

    @property
    def message(self) -> str:
        minutes = max(1, -(-self.retry_after // 60))
        if self.per_username:
            return f"这个账号登录失败次数过多，已暂时锁定，请 {minutes} 分钟后再试"
        return f"登录尝试太频繁，请 {minutes} 分钟后再试"


def refusal(
    ip: str, username: str, ip_limit: str, username_limit: str, now: datetime | None = None
) -> Refusal | None:
    """Why a login attempt from `ip` as `username` may not even be checked, or None."""
    now = now or utcnow()
    by_ip = _wait(LoginFailure.ip == ip, ip_limit, now)
    if by_ip:
        return Refusal(by_ip, per_username=False)
    by_username = _wait(LoginFailure.username == _kept(username), username_limit, now)
    if by_username:
        return Refusal(by_username, per_username=True)
    return None


def record_failure(ip: str, username: str, now: datetime | None = None) -> None:
    now = now or utcnow()
    db.session.execute(sa.delete(LoginFailure).where(LoginFailure.failed_at < now - KEEP_FOR))
    db.session.add(LoginFailure(ip=ip[:45], username=_kept(username), failed_at=now))


def clear_username(username: str) -> None:
    """After a successful login: the creator is not locked out by the guesses before it."""
    db.session.execute(sa.delete(LoginFailure).where(LoginFailure.username == _kept(username)))


def _wait(who, limit: str, now: datetime) -> int:
    """Seconds until `who` is under every item of `limit` again (0: it is under them now)."""
    wait = 0
    for item in limits.parse_many(limit):
        window = timedelta(seconds=item.get_expiry())
        recent = (
            sa.select(LoginFailure.failed_at)
            .where(who, LoginFailure.failed_at > now - window)
            .order_by(LoginFailure.failed_at.desc())
            .limit(item.amount)
        )
        times = db.session.scalars(recent).all()
        if len(times) >= item.amount:
            # Free again when the oldest of the last `amount` failures leaves the window.
            free_at = times[-1] + window
            wait = max(wait, int((free_at - now).total_seconds()) + 1)
    return wait


def _kept(username: str) -> str:
    return (username or "").strip()[:USERNAME_KEPT]
