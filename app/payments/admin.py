"""The creator's view of orders: filters, totals, pages, the CSV export, and studio refunds.

Plain Python over the models: the studio's order views hand `request.args` and the form
over as plain mappings and strings, and tests call these functions directly. Money stays
int fen; times are UTC here and become shop time (SHOP_TIMEZONE) only at the edges:
the day a date filter means, and the times written into the CSV.
"""

import re
import secrets
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from app.analytics.stats import EARLIEST_DAY, LATEST_DAY
from app.extensions import db
from app.models import (
    HOLDS_MONEY,
    WAS_PAID,
    Order,
    OrderKind,
    OrderStatus,
    PayChannel,
    PaymentEvent,
    PaymentEventKind,
    Product,
    Reader,
    Refund,
)
from app.models.base import ID_MAX
from app.money import InvalidAmount, format_fen, parse_yuan, yuan_for_sheet
from app.payments import orders
from app.payments.gateway import PaymentGateway
from app.payments.refunds import RefundError, refund_order
from app.spreadsheet import inert
from app.transactions import begin_write

PAGE_SIZE = 50
REFUND_REASON_MAX = 80  # Refund.reason's column, and WeChat's limit on refund_desc

# out_trade_no and transaction_id are both letters and digits, at most 32 of them.
_SEARCH_TERM = re.compile(r"[0-9A-Za-z]{1,32}")
_PRODUCT_ID = re.compile(r"[0-9]{1,10}")
_PAGE_NUMBER = re.compile(r"[0-9]{1,9}")


# --- filters --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderFilters:
    """What the creator narrowed the order list to. Every field is optional."""

    status: OrderStatus | None = None
    channel: PayChannel | None = None
    kind: OrderKind | None = None
    date_from: date | None = None  # shop-time days, both ends included
    date_to: date | None = None
    product_id: int | None = None
    search: str = ""  # an out_trade_no or transaction_id, or the start of one
    # Labels of parameters that were given but did not parse; the page says they were ignored.
    ignored: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> "OrderFilters":
        """Filters from query parameters. A value that does not parse is left out, never an
        error: a hand-edited or outdated link still shows a list."""
        ignored: list[str] = []

        def parsed(name: str, label: str, parse):
            text = (args.get(name) or "").strip()
            if not text:
                return None
            try:
                return parse(text)
            except ValueError:
                ignored.append(label)
                return None

        values = {
            "status": parsed("status", "状态", OrderStatus),
            "channel": parsed("channel", "支付方式", PayChannel),
            "kind": parsed("kind", "类型", OrderKind),
            "date_from": parsed("from", "开始日期", _parse_day),
            "date_to": parsed("to", "结束日期", _parse_day),
            "product_id": parsed("item", "内容", _parse_product_id),
            "search": parsed("q", "搜索", _parse_search_term) or "",
        }
        return cls(**values, ignored=tuple(ignored))

    def as_args(self) -> dict[str, str]:
        """The query parameters that give these filters back (page links, the CSV link)."""
        args = {
            "status": self.status and self.status.value,
            "channel": self.channel and self.channel.value,
            "kind": self.kind and self.kind.value,
            "from": self.date_from and self.date_from.isoformat(),
            "to": self.date_to and self.date_to.isoformat(),
            "item": self.product_id and str(self.product_id),
            "q": self.search,
        }
        return {name: value for name, value in args.items() if value}

    @property
    def active(self) -> bool:
        return bool(self.as_args())

    @property
    def beyond_search(self) -> bool:
        """Filters other than the search box are set (the page opens their panel)."""
        return bool(self.as_args().keys() - {"q"})

    def conditions(self, timezone: str) -> list[sa.ColumnElement[bool]]:
        """WHERE clauses on Order for these filters; days are whole days in `timezone`."""
        where = []
        if self.status is not None:
            where.append(Order.status == self.status)
        if self.channel is not None:
            where.append(Order.channel == self.channel)
        if self.kind is not None:
            where.append(Order.kind == self.kind)
        if self.date_from is not None:
            where.append(Order.created_at >= start_of_day(self.date_from, timezone))
        if self.date_to is not None:
            where.append(
                Order.created_at < start_of_day(self.date_to + timedelta(days=1), timezone)
            )
        if self.product_id is not None:
            where.append(Order.product_id == self.product_id)
        if self.search:
            where.append(
                sa.or_(
                    Order.out_trade_no.startswith(self.search, autoescape=True),
                    Order.transaction_id.startswith(self.search, autoescape=True),
                )
            )
        return where


def _parse_day(text: str) -> date:
    day = date.fromisoformat(text)
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise ValueError("day out of range")
    return day


def _parse_product_id(text: str) -> int:
    if not _PRODUCT_ID.fullmatch(text) or int(text) > ID_MAX:
        raise ValueError("not an id")
    return int(text)


def _parse_search_term(text: str) -> str:
    # Full-width letters and digits (a Chinese keyboard's) are the same order number.
    term = unicodedata.normalize("NFKC", text).strip()
    if not _SEARCH_TERM.fullmatch(term):
        raise ValueError("not an order number")
    return term


def start_of_day(day: date, timezone: str) -> datetime:
    """Midnight of `day` in the shop's time zone, in UTC (how created_at is stored)."""
    return datetime.combine(day, time(), tzinfo=ZoneInfo(timezone)).astimezone(UTC)


# --- the list -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Totals:
    """Sums over every order the filters match, not just the page shown."""

    count: int
    paid_fen: int
    refunded_fen: int

    @property
    def net_fen(self) -> int:
        return self.paid_fen - self.refunded_fen


@dataclass(frozen=True)
class OrderPage:
    orders: list[Order]
    number: int
    pages: int
    totals: Totals

    @property
    def links(self) -> list[int | None]:
        return page_window(self.number, self.pages)


def totals(filters: OrderFilters, timezone: str) -> Totals:
    was_paid = Order.status.in_(WAS_PAID)
    count, paid, refunded = db.session.execute(
        sa.select(
            sa.func.count(Order.id),
            sa.func.coalesce(sa.func.sum(sa.case((was_paid, Order.amount_fen), else_=0)), 0),
            sa.func.coalesce(sa.func.sum(Order.refunded_fen), 0),
        ).where(*filters.conditions(timezone))
    ).one()
    return Totals(count=count, paid_fen=int(paid), refunded_fen=int(refunded))


def order_page(
    filters: OrderFilters, page_text: str | None, timezone: str, per_page: int = PAGE_SIZE
) -> OrderPage:
    """One page of the filtered orders, newest first. A page number that does not parse
    means the first page; one past the end means the last."""
    found = totals(filters, timezone)
    pages = max(1, -(-found.count // per_page))
    number = int(page_text) if page_text and _PAGE_NUMBER.fullmatch(page_text) else 1
    number = min(max(number, 1), pages)
    rows = db.session.scalars(
        sa.select(Order)
        .where(*filters.conditions(timezone))
        .options(joinedload(Order.reader))
        .order_by(Order.created_at.desc(), Order.id.desc())
        .limit(per_page)
        .offset((number - 1) * per_page)
    )
    return OrderPage(orders=list(rows), number=number, pages=pages, totals=found)


def page_window(current: int, pages: int, around: int = 2) -> list[int | None]:
    """Page numbers to link: the first, the last and a few around the current one; None
    marks a gap. 20,000 pages still make a short row of links."""
    shown = {1, pages, *range(current - around, current + around + 1)}
    numbers = sorted(n for n in shown if 1 <= n <= pages)
    window: list[int | None] = []
    for number in numbers:
        if window and number - window[-1] > 1:
            window.append(None)
        window.append(number)
    return window


def item_choices() -> list[tuple[int, str]]:
    """Every item, for the item filter (drafts and retired ones may have old orders)."""
    return list(db.session.execute(sa.select(Product.id, Product.title).order_by(Product.title)))


def find_order(out_trade_no: str) -> Order | None:
    return orders.find(out_trade_no) if len(out_trade_no) <= 32 else None


# --- CSV ------------------------------------------------------------------------------------------

CSV_HEADER = (
    "订单号",
    "微信支付单号",
    "类型",
    "状态",
    "支付方式",
    "内容",
    "内容ID",
    "读者ID",
    "读者昵称",
    "读者openid",
    "付款openid",
    "金额（元）",
    "金额（分）",
    "已退款（元）",
    "已退款（分）",
    "下单时间",
    "支付时间",
)


def csv_rows(filters: OrderFilters, timezone: str) -> Iterator[Sequence[object]]:
    """The header, then the filtered orders, newest first, for `app.spreadsheet`.

    Rows are read from the database in batches (yield_per) as they are written out, so a
    million orders never sit in memory. Times are shop time.
    """
    zone = ZoneInfo(timezone)
    yield CSV_HEADER
    query = (
        sa.select(
            Order.out_trade_no,
            Order.transaction_id,
            Order.kind,
            Order.status,
            Order.channel,
            Order.title,
            Order.product_id,
            Reader.id,
            Reader.known_name,
            Reader.openid,
            Order.payer_openid,
            Order.amount_fen,
            Order.refunded_fen,
            Order.created_at,
            Order.paid_at,
        )
        .join(Reader, Reader.id == Order.reader_id)
        .where(*filters.conditions(timezone))
        .order_by(Order.created_at.desc(), Order.id.desc())
        .execution_options(yield_per=1000)
    )
    for row in db.session.execute(query):
        yield _csv_row(row, zone)


def _csv_row(row, zone: ZoneInfo) -> list[str]:
    (no, transaction_id, kind, status, channel, title, product_id) = row[:7]
    (reader_id, name, openid, payer_openid, amount, refunded, created, paid) = row[7:]
    return [
        no,
        # A tab first keeps Excel from showing 28 digits as 4.2E+27 (and dropping digits).
        f"\t{transaction_id}" if transaction_id else "",
        kind.label,
        status.label,
        channel.label,
        inert(title),
        product_id or "",
        reader_id,
        inert(name or ""),
        openid or "",
        payer_openid or "",
        yuan_for_sheet(amount),
        amount,
        yuan_for_sheet(refunded),
        refunded,
        created.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"),
        paid.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S") if paid else "",
    ]


# --- refunds from the studio ----------------------------------------------------------------------


class DuplicateConfirmation(RefundError):
    """The confirm form was sent again (a double click, a resubmit): nothing more is sent."""


CONFIRMATION_TOKEN_MAX = 64


@dataclass(frozen=True)
class RefundPlan:
    """A refund the creator asked for, checked and ready to restate on the confirm page."""

    order: Order
    amount_fen: int
    reason: str
    refundable_fen: int  # before this refund
    revoke_access: bool  # REFUND_REVOKES_ACCESS

    @property
    def is_full(self) -> bool:
        """It refunds everything still refundable: the order ends fully refunded."""
        return self.amount_fen == self.refundable_fen

    @property
    def removes_access(self) -> bool:
        return self.order.kind is OrderKind.PURCHASE and self.revoke_access and self.is_full

    @property
    def access_note(self) -> str:
        if self.order.kind is OrderKind.TIP:
            return "这是一笔赞赏，退款不涉及访问权限。"
        if self.removes_access:
            return "退款后读者将失去访问权限。"
        if self.is_full:
            return "退款后读者仍保留访问权限（已关闭“全额退款收回权限”）。"
        return "部分退款，读者保留访问权限。"


def plan_refund(order: Order, amount_text: str, reason: str, revoke_access: bool) -> RefundPlan:
    """Check a refund the creator typed (amount in yuan, a reason); RefundError says why not."""
    if order.status not in HOLDS_MONEY:
        raise RefundError("只有已支付的订单可以退款")
    available = orders.refundable_fen(order)
    if available == 0:
        raise RefundError("这笔订单已没有可退的金额（可能有退款正在处理）")
    try:
        amount_fen = parse_yuan(amount_text)
    except InvalidAmount as error:
        raise RefundError(f"退款金额有误：{error}") from error
    if amount_fen == 0:
        raise RefundError("退款金额须大于 0")
    if amount_fen > available:
        raise RefundError(f"退款金额不能超过可退金额 {format_fen(available)}")
    reason = " ".join(reason.split())
    if not reason:
        raise RefundError("请填写退款原因")
    if len(reason) > REFUND_REASON_MAX:
        raise RefundError(f"退款原因最多 {REFUND_REASON_MAX} 个字")
    return RefundPlan(order, amount_fen, reason, available, revoke_access)


def new_confirmation_token() -> str:
    return secrets.token_urlsafe(24)


def confirm_refund(
    gateway: PaymentGateway,
    order: Order,
    amount_text: str,
    reason: str,
    token: str,
    notify_url: str,
    revoke_access: bool,
) -> Refund:
    """Send the refund the confirm page restated, once per confirm page.

    Why a one-time token, kept as a payment event: a double click sends the confirm form
    twice at once, and both requests carry the same session cookie, so a token in the
    session cannot tell them apart. Refusing "an identical refund made seconds ago" would
    also refuse a second, deliberate refund of the same amount. So the confirm page carries
    a random token, and claiming it is a database fact taken under the order's write lock
    (SQLite's BEGIN IMMEDIATE, PostgreSQL's row lock): the first request records it and
    commits before it asks WeChat; the second finds it and sends nothing. The event also
    tells the audit trail that the refund came from the studio. The token is claimed before
    anything else is checked, so the second request says "already sent", not a puzzling
    "amount too large". A form without a usable token did not come from a confirm page that
    this shop served (an expired or hand-made form): it is refused, nothing sent, and told
    to start again rather than that it was sent already.
    """
    if not token or len(token) > CONFIRMATION_TOKEN_MAX:
        raise RefundError("这个确认页已失效，退款没有提交。请重新打开订单的退款页面再确认一次")
    if not _claim_token(order, token):
        raise DuplicateConfirmation("这笔退款已经提交过了，没有重复退款")
    plan = plan_refund(order, amount_text, reason, revoke_access)
    return refund_order(gateway, order, plan.amount_fen, plan.reason, notify_url, revoke_access)


def _claim_token(order: Order, token: str) -> bool:
    begin_write()
    locked = orders.find(order.out_trade_no, for_update=True)
    used = db.session.scalars(
        sa.select(PaymentEvent.detail).where(
            PaymentEvent.order_id == locked.id,
            PaymentEvent.kind == PaymentEventKind.REFUND_CONFIRMED,
        )
    )
    if any(detail.get("token") == token for detail in used):
        db.session.rollback()
        return False
    orders.record_event(locked, PaymentEventKind.REFUND_CONFIRMED, token=token, source="studio")
    db.session.commit()
    return True
