"""Memberships (会员): passes for a number of days to every item, or to chosen ones.

A plan is a product of kind "membership" (its price, its days, the items it opens; none
named: every published item). Paying for a plan adds a stretch of time to the reader's
membership of it, starting where their last stretch ends (buying again extends it) or now.
While a stretch runs, the items the plan opens count as the reader's: the one place that
says what a reader has (app/catalog/entitlements.py) adds them, so pages, the page cache's
keys and downloads all follow, and access ends on time with nothing to run.
A refund of a plan ends its stretch and moves the stretches after it back. A few days
before a pass ends, `flask shop remind-members` tells the reader through the 公众号
(remind_ending), by the studio's 会员即将到期 template where the creator set one.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from app.catalog import queries
from app.extensions import db
from app.models import Membership, MessageStatus, Order, Product, Reader
from app.models.base import utcnow
from app.models.readers import display_name
from app.transactions import begin_write
from app.web.public_address import public_url
from app.wechat import message_delivery
from app.wechat.message_settings import MessageSettings, Template
from app.wechat.messages import BEIJING, Envelope, TemplateMessage, template_data

_memberships = Membership.__table__


def grant_for_paid_order(
    connection: sa.Connection, order_id: int, reader_ids: set[int], plan_id: int, days: int
) -> None:
    """A plan was paid: each reader it is for gets `days` more, from where their current
    stretch of this plan ends, or from now."""
    now = utcnow()
    for reader_id in sorted(reader_ids):
        last_end = connection.execute(
            sa.select(sa.func.max(_memberships.c.ends_at)).where(
                _memberships.c.reader_id == reader_id,
                _memberships.c.plan_id == plan_id,
                _memberships.c.ended_at.is_(None),
            )
        ).scalar()
        starts_at = max(now, _aware(last_end)) if last_end is not None else now
        connection.execute(
            sa.insert(_memberships).values(
                reader_id=reader_id,
                plan_id=plan_id,
                order_id=order_id,
                starts_at=starts_at,
                ends_at=starts_at + timedelta(days=days),
                created_at=now,
            )
        )


def _aware(moment: datetime) -> datetime:
    """A time read through a Core column on SQLite comes back as the type processes it:
    aware UTC (UTCDateTime); kept explicit for the comparison with now."""
    return moment if moment.tzinfo else moment.replace(tzinfo=utcnow().tzinfo)


def end_for_refunded_order(order: Order) -> None:
    """A plan's order was refunded in full: its stretches end now (or never begin), and the
    reader's later stretches of the plan move back by the time it gave up."""
    now = utcnow()
    for stretch in db.session.scalars(
        sa.select(Membership).where(Membership.order_id == order.id, Membership.ended_at.is_(None))
    ):
        given_up = stretch.ends_at - max(stretch.starts_at, now)
        later = db.session.scalars(
            sa.select(Membership).where(
                Membership.reader_id == stretch.reader_id,
                Membership.plan_id == stretch.plan_id,
                Membership.ended_at.is_(None),
                Membership.starts_at >= stretch.ends_at,
            )
        ).all()
        stretch.ended_at = now
        stretch.ends_at = max(stretch.starts_at + timedelta(seconds=1), min(stretch.ends_at, now))
        for after in later:
            after.starts_at -= given_up
            after.ends_at -= given_up
    db.session.flush()


def for_reader(reader_id: int) -> list[Membership]:
    """A reader's stretches, the latest first (我的会员)."""
    return list(
        db.session.scalars(
            sa.select(Membership)
            .where(Membership.reader_id == reader_id, Membership.ended_at.is_(None))
            .order_by(Membership.ends_at.desc())
        )
    )


def current_end(reader_id: int, plan_id: int) -> datetime | None:
    """When the reader's membership of a plan ends, counting stretches bought ahead."""
    found = db.session.scalar(
        sa.select(sa.func.max(Membership.ends_at)).where(
            Membership.reader_id == reader_id,
            Membership.plan_id == plan_id,
            Membership.ended_at.is_(None),
            Membership.ends_at > utcnow(),
        )
    )
    return found


def move(from_reader_id: int, to_reader_id: int) -> None:
    """A guest merged into a WeChat reader: their stretches are the person's."""
    db.session.execute(
        sa.update(Membership)
        .where(Membership.reader_id == from_reader_id)
        .values(reader_id=to_reader_id)
        .execution_options(synchronize_session=False)
    )


# --- the reminder before a pass ends ----------------------------------------------------------

REMIND_DAYS_BEFORE = 3


@dataclass(frozen=True)
class Reminded:
    sent: int  # reached the reader through the 公众号
    not_sent: int  # not reachable there now (no 48-hour window); 我的会员 says it all the same


def remind_ending(
    settings: MessageSettings, within: timedelta = timedelta(days=REMIND_DAYS_BEFORE)
) -> Reminded:
    """Tell readers whose pass ends within `within` (and who have not bought more after it),
    once per ending, through the 公众号: a template message to a follower when the creator set
    the `membership` template, else a customer-service message where WeChat's 48-hour window
    allows one (app/wechat/message_delivery.py decides). Each ending is marked reminded
    whatever became of the message, so nobody hears twice."""
    now = utcnow()
    due = _ending_soon(now, now + within)
    shop_name = queries.shop_profile().name
    db.session.commit()  # no transaction is held while WeChat answers
    template = settings.templates["membership"]
    sent = not_sent = 0
    wechat = message_delivery.client()
    for ending in due:
        outcome = None
        if ending.openid:
            outcome = message_delivery.send(wechat, _envelope(ending, template, shop_name))
        if outcome is not None and outcome.status is MessageStatus.SENT:
            sent += 1
        else:
            not_sent += 1
        begin_write()
        db.session.execute(
            sa.update(Membership).where(Membership.id == ending.id).values(reminded_at=now)
        )
        db.session.commit()
    return Reminded(sent, not_sent)


def _ending_soon(start: datetime, end: datetime) -> list[sa.Row]:
    """The last running stretch of each reader's pass that ends between `start` and `end` and
    has not been reminded: its id, end and plan title, the reader's id, openid and name."""
    later = aliased(Membership)
    no_later_stretch = ~sa.exists().where(
        later.reader_id == Membership.reader_id,
        later.plan_id == Membership.plan_id,
        later.ended_at.is_(None),
        later.ends_at > Membership.ends_at,
    )
    return db.session.execute(
        sa.select(
            Membership.id,
            Membership.ends_at,
            Product.title,
            Reader.id.label("reader_id"),
            Reader.openid,
            Reader.known_name.label("known_name"),
        )
        .join(Reader, Reader.id == Membership.reader_id)
        .join(Product, Product.id == Membership.plan_id)
        .where(
            Membership.ended_at.is_(None),
            Membership.reminded_at.is_(None),
            Membership.ends_at > start,
            Membership.ends_at <= end,
            no_later_stretch,
        )
    ).all()


def _envelope(ending: sa.Row, template: Template | None, shop_name: str) -> Envelope:
    """The reminder: the template with the keys the creator mapped (MEMBERSHIP_FACTS), and
    the same news as a customer-service text; both lead to 我的会员, where renewing is."""
    ends_at = ending.ends_at.astimezone(BEIJING)
    facts = {
        "item": ending.title,
        "ends_at": ends_at.strftime("%Y-%m-%d %H:%M"),
        "status": "即将到期",
        "buyer": display_name(ending.reader_id, False, ending.known_name),
        "shop": shop_name,
    }
    url = public_url("accounts.my_membership")
    title = ending.title.replace("<", "＜").replace(">", "＞")  # no link of its own in the text
    text = (
        f"你的「{title}」将于 {ends_at:%m月%d日 %H:%M} 到期。续费从到期日往后顺延：\n"
        f'<a href="{url}">查看与续费</a>'
    )
    return Envelope(
        openid=ending.openid,
        template=None
        if template is None
        else TemplateMessage(template.template_id, template_data(template.fields, facts), url),
        text=text,
    )


def ends_soon(stretch: Membership, now: datetime | None = None) -> bool:
    """Whether 我的会员 should say this pass ends soon."""
    now = now or utcnow()
    return now < stretch.ends_at <= now + timedelta(days=REMIND_DAYS_BEFORE)
