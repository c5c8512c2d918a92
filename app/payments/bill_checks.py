"""The daily bill check, kept: `flask orders bill` (a daily timer) compares WeChat's bill for a
day with the shop (reconcile.compare_bill), stores what it found as that day's BillCheck, and
tells the creator when something needs a look.

The creator hears of it twice: a banner on every studio page until they mark the day handled
(the studio's 对账 page), and a message from the 公众号 when one can be sent. The message is
a customer-service text, which WeChat delivers only within 48 hours of the creator's last
interaction with the account; outside that the banner alone carries the news, and the row
says why no message went.
"""

from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from app.extensions import db
from app.models import BillCheck, MessageStatus
from app.models.base import utcnow
from app.payments.gateway import GatewayError, PaymentGateway
from app.payments.reconcile import BEIJING, compare_bill
from app.transactions import begin_write
from app.web.public_address import public_url
from app.wechat import message_delivery, message_settings
from app.wechat.messages import Envelope

SHOWN_DAYS = 30  # the studio's 对账 page lists this many of the latest checks


def yesterday(now: datetime | None = None) -> date:
    """The last whole day of WeChat's bill: yesterday in Beijing (WeChat's bill days)."""
    return ((now or datetime.now(UTC)).astimezone(BEIJING) - timedelta(days=1)).date()


def check_day(gateway: PaymentGateway, day: date, revoke_access: bool) -> BillCheck:
    """Compare the day's bill and store the result (a second check of a day replaces the
    first, and asks for attention again if it still finds something)."""
    try:
        found = compare_bill(gateway, day, revoke_access)
        error = ""
    except GatewayError as failure:
        found, error = [], f"下载对账单失败：{failure.code} {failure.message}"[:200]
    begin_write()
    check = db.session.get(BillCheck, day) or BillCheck(day=day)
    check.checked_at = utcnow()
    check.differences = [
        {"out_trade_no": m.out_trade_no, "problem": m.problem, "demo": m.demo} for m in found
    ]
    check.error = error
    check.notice = ""
    check.handled_at = None
    db.session.add(check)
    db.session.commit()
    return check


def tell_creator(check: BillCheck) -> str:
    """Send the creator a 公众号 message about a check that needs attention; what became of
    it is stored on the check (and returned) for the studio to show."""
    if not check.needs_attention:
        return ""
    openid = message_settings.current(current_app.config).creator_openid
    if not openid:
        notice = "未发送：未设置创作者的 openid（后台 → 通知），请看后台提示"
    else:
        envelope = Envelope(openid=openid, template=None, text=_message_text(check))
        outcome = message_delivery.send(message_delivery.client(), envelope)
        notice = outcome.status.label
        if outcome.status is not MessageStatus.SENT and outcome.reason:
            notice += f"：{outcome.reason}"
    begin_write()
    check.notice = notice[:200]
    db.session.commit()
    return check.notice


def _message_text(check: BillCheck) -> str:
    what = check.error or f"有 {len(check.real_differences)} 处差异"
    url = public_url("studio.bill_checks_page")
    return f'微信对账 {check.day:%Y-%m-%d}：{what}。\n<a href="{url}">到后台查看</a>'


def needing_attention() -> list[BillCheck]:
    """The checks the studio's banner points at, newest first."""
    recent = db.session.scalars(
        sa.select(BillCheck)
        .where(BillCheck.handled_at.is_(None))
        .order_by(BillCheck.day.desc())
        .limit(SHOWN_DAYS)
    )
    return [check for check in recent if check.needs_attention]


def recent() -> list[BillCheck]:
    return list(
        db.session.scalars(sa.select(BillCheck).order_by(BillCheck.day.desc()).limit(SHOWN_DAYS))
    )


def mark_handled(day: date) -> bool:
    begin_write()
    check = db.session.get(BillCheck, day)
    if check is None or check.handled_at is not None:
        return False
    check.handled_at = utcnow()
    db.session.commit()
    return True
