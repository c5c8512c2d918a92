"""Asking WeChat instead of waiting for it: order queries, expiry, refunds, the daily bill.

Notifications can be lost or late; these make the shop right anyway. Each call to WeChat
happens outside any write transaction.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from app.extensions import db
from app.models import WAS_PAID, Order, OrderStatus, Refund, RefundStatus
from app.models.base import utcnow
from app.payments import orders, refunds
from app.payments.gateway import GatewayError, PaymentGateway, RefundResult
from app.transactions import begin_write

BEIJING = ZoneInfo("Asia/Shanghai")
# How long reconcile keeps asking about a closed order (paid at WeChat after we closed it?)
# and a refund WeChat refused (refunded after all?). WeChat's own late answers come sooner.
RECENT = timedelta(hours=24)


def sync_order(gateway: PaymentGateway, out_trade_no: str) -> Order:
    """Query WeChat for one order and apply the answer: paid, or closed, or still waiting."""
    state = gateway.query(out_trade_no)
    begin_write()
    order = orders.find(out_trade_no, for_update=True)
    orders.note_query(order, state.state)
    try:
        if state.paid:
            orders.confirm_payment(
                out_trade_no,
                transaction_id=state.transaction_id,
                amount_fen=state.amount_fen,
                payer_openid=state.payer_openid,
                paid_at=state.paid_at,
                source="query",
            )
        elif state.state in ("CLOSED", "NOTEXIST") and order.expires_at <= utcnow():
            orders.close(order, "expired")
    except orders.AmountMismatch:
        pass  # recorded as an alert by confirm_payment; the order stays unpaid
    db.session.commit()
    order = orders.find(out_trade_no)
    if order.status is OrderStatus.CLOSED and state.state == "NOTPAY":
        # Closed here while WeChat still takes payment for it (WeChat refuses to close an
        # order in its first five minutes, as when a sign-in merged two open orders).
        gateway.close(out_trade_no)
    return order


# Between two queries about one order, at least this share of its age: 5 s apart at first
# (the floor), a minute apart when it is ten minutes old. A page or a script polling every
# second for an hour costs a few dozen queries, not thousands, and the reader who has just
# paid is answered at once by WeChat's notification anyway.
QUERY_INTERVAL_SHARE_OF_AGE = 1 / 6


def query_due(order: Order, floor: timedelta, now: datetime, *, by_reader: bool = False) -> bool:
    """Whether the shop may ask WeChat about this pending order now.

    `by_reader` is the 我已支付 button: the reader says something changed, so only the floor
    applies (the button is rate-limited per visitor as well).
    """
    last = order.last_queried_at
    if last is None:
        return True
    interval = floor
    if not by_reader:
        interval = max(floor, (now - order.created_at) * QUERY_INTERVAL_SHARE_OF_AGE)
    return now - last >= interval


def check_if_due(
    gateway: PaymentGateway, order: Order, floor: timedelta, *, by_reader: bool = False
) -> Order:
    """Query WeChat for a pending order unless `query_due` says it was asked recently.

    Polling pages and the 我已支付 button come through here, so however often they ask,
    WeChat hears from the shop only as often as the order's age allows.
    """
    if order.status is not OrderStatus.PENDING:
        return order
    if not query_due(order, floor, utcnow(), by_reader=by_reader):
        return order
    try:
        return sync_order(gateway, order.out_trade_no)
    except GatewayError:
        # Count a failed query too: while WeChat is slow or down, pages that poll must not
        # turn into a stream of calls that each hold a worker until the time-out.
        db.session.rollback()
        begin_write()
        failed = orders.find(order.out_trade_no)
        orders.note_query(failed, "ERROR")
        db.session.commit()
        return orders.find(order.out_trade_no)


@dataclass
class ReconcileReport:
    paid: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    still_pending: list[str] = field(default_factory=list)
    refunds_settled: list[str] = field(default_factory=list)
    refunds_resent: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def reconcile(
    gateway: PaymentGateway,
    older_than: timedelta,
    revoke_access: bool,
    refund_notify_url: str,
    now: datetime | None = None,
) -> ReconcileReport:
    """For a cron job: settle pending orders older than `older_than`, close expired ones at
    WeChat and here, honour a payment WeChat took for an order closed here in the last day,
    settle refunds that are still processing (and any refund of the same orders made in
    商户平台), look again at refunds refused in the last day, and send again the refunds
    WeChat never received (a time-out or a passing error when they were asked for)."""
    now = now or utcnow()
    report = ReconcileReport()
    pending = db.session.scalars(
        sa.select(Order.out_trade_no).where(
            Order.status == OrderStatus.PENDING, Order.created_at <= now - older_than
        )
    ).all()
    # Closing here and at WeChat is not atomic, and a payer may have been in the cashier
    # when we closed: such a payment is money taken, so it is honoured (closed -> paid).
    recently_closed = db.session.scalars(
        sa.select(Order.out_trade_no).where(
            Order.status == OrderStatus.CLOSED,
            Order.closed_at >= now - RECENT,
            Order.prepay_id.is_not(None),  # never offered to WeChat: nothing to pay
        )
    ).all()
    db.session.commit()
    for out_trade_no in pending:
        try:
            order = sync_order(gateway, out_trade_no)
            if order.status is OrderStatus.PENDING and order.expires_at <= now:
                gateway.close(out_trade_no)  # so it cannot be paid at WeChat any more
                begin_write()
                orders.close(orders.find(out_trade_no), "expired")
                db.session.commit()
                order = orders.find(out_trade_no)
        except GatewayError as error:
            db.session.rollback()
            report.errors.append(f"{out_trade_no}: {error.code} {error.message}")
            continue
        {
            OrderStatus.PAID: report.paid,
            OrderStatus.CLOSED: report.closed,
        }.get(order.status, report.still_pending).append(out_trade_no)
    for out_trade_no in recently_closed:
        try:
            if sync_order(gateway, out_trade_no).status is OrderStatus.PAID:
                report.paid.append(out_trade_no)
        except GatewayError as error:
            db.session.rollback()
            report.errors.append(f"{out_trade_no}: {error.code} {error.message}")

    refunding = db.session.scalars(
        sa.select(Order.out_trade_no)
        .join(Refund, Refund.order_id == Order.id)
        .where(
            sa.or_(
                Refund.status == RefundStatus.PROCESSING,
                sa.and_(Refund.status == RefundStatus.FAILED, Refund.finished_at >= now - RECENT),
            )
        )
        .group_by(Order.out_trade_no)
    ).all()
    db.session.commit()
    for out_trade_no in refunding:
        _reconcile_refunds(gateway, out_trade_no, revoke_access, refund_notify_url, report)
    return report


def _reconcile_refunds(
    gateway: PaymentGateway,
    out_trade_no: str,
    revoke_access: bool,
    refund_notify_url: str,
    report: ReconcileReport,
) -> None:
    """Ask WeChat for every refund of one order (one query lists them all) and apply each;
    a processing refund WeChat does not list never reached it, and is sent again."""
    try:
        listed = gateway.query_order_refunds(out_trade_no)
    except GatewayError as error:
        report.errors.append(f"{out_trade_no}: {error.code} {error.message}")
        return
    settled, problems = apply_listed_refunds(listed, revoke_access)
    report.refunds_settled += settled
    report.errors += problems
    known = {refund.out_refund_no for refund in listed}
    unsent = db.session.scalars(
        sa.select(Refund.out_refund_no)
        .join(Order, Order.id == Refund.order_id)
        .where(Order.out_trade_no == out_trade_no, Refund.status == RefundStatus.PROCESSING)
    ).all()
    db.session.commit()
    for out_refund_no in unsent:
        if out_refund_no in known:
            continue
        try:
            refunds.send_refund(gateway, out_refund_no, refund_notify_url)
            report.refunds_resent.append(out_refund_no)
        except refunds.RefundError as refused:
            report.errors.append(f"{out_refund_no}: {refused.message}")


def apply_listed_refunds(
    listed: list[RefundResult], revoke_access: bool
) -> tuple[list[str], list[str]]:
    """Apply WeChat's word on each refund, recording those made outside the shop.
    Returns (the out_refund_nos this settled, problems to report)."""
    settled, problems = [], []
    for result in listed:
        begin_write()
        try:
            if orders.settle_refund(
                result.out_refund_no,
                result.status,
                result.refund_id,
                result.finished_at,
                revoke_access,
                out_trade_no=result.out_trade_no,
                amount_fen=result.amount_fen,
            ):
                settled.append(result.out_refund_no)
        except orders.OrderError as error:
            problems.append(f"{result.out_refund_no}: {error.message}")
        db.session.commit()  # the audit event of a refusal too
    return settled, problems


def sync_order_refunds(
    gateway: PaymentGateway, out_trade_no: str, revoke_access: bool
) -> tuple[list[str], list[str]]:
    """Query and apply every refund of one order (the bill found one the shop lacks)."""
    return apply_listed_refunds(gateway.query_order_refunds(out_trade_no), revoke_access)


@dataclass(frozen=True)
class BillMismatch:
    out_trade_no: str
    problem: str
    # A demo order (transaction_id DEMO...): in the shop only, by design. Listed so the
    # totals can be explained, but not a difference to act on.
    demo: bool = False


DEMO_TRANSACTION_PREFIX = "DEMO"


def compare_bill(gateway: PaymentGateway, day: date, revoke_access: bool) -> list[BillMismatch]:
    """Every difference between WeChat's bill for `day` (a Beijing day) and the shop, both
    ways: payments and refunds WeChat has that the shop lacks or has otherwise, and payments
    and refunds the shop has that the bill lacks (a payment only the shop knows of is the
    trace of a forged notification). A refund the bill has and the shop lacks (made in
    商户平台) is recorded here, from WeChat's refund query, and still reported."""
    rows = gateway.download_bill(day)
    payments = {row.out_trade_no: row for row in rows if row.trade_state == "SUCCESS"}
    refund_rows = [row for row in rows if row.trade_state == "REFUND" and row.out_refund_no]
    mismatches = [m for row in payments.values() if (m := _compare_payment(row))]
    mismatches += _compare_refunds(gateway, refund_rows, revoke_access)
    start = datetime.combine(day, time(), BEIJING).astimezone(UTC)
    mismatches += _paid_here_only(start, start + timedelta(days=1), payments)
    mismatches += _refunded_here_only(start, start + timedelta(days=1), refund_rows)
    return mismatches


def _compare_payment(row) -> BillMismatch | None:
    order = orders.find(row.out_trade_no)
    if order is None:
        return BillMismatch(row.out_trade_no, "微信有这笔支付，本店没有这个订单")
    if order.status in (OrderStatus.PENDING, OrderStatus.CLOSED):
        return BillMismatch(row.out_trade_no, "微信已收款，本店订单未支付")
    if order.amount_fen != row.amount_fen:
        return BillMismatch(
            row.out_trade_no, f"金额不一致：微信 {row.amount_fen} 分，本店 {order.amount_fen} 分"
        )
    if order.transaction_id != row.transaction_id:
        return BillMismatch(row.out_trade_no, "微信支付单号不一致")
    return None


def _compare_refunds(gateway: PaymentGateway, rows, revoke_access: bool) -> list[BillMismatch]:
    mismatches = []
    synced = set()
    for row in rows:
        refund = orders.find_refund(row.out_refund_no)
        if refund is None or refund.status is not RefundStatus.SUCCESS:
            recorded = "本店没有这笔退款" if refund is None else f"本店记为{refund.status.label}"
            if row.out_trade_no not in synced:
                synced.add(row.out_trade_no)
                try:
                    _, problems = sync_order_refunds(gateway, row.out_trade_no, revoke_access)
                except GatewayError as error:
                    problems = [f"查询退款失败：{error.code} {error.message}"]
                mismatches += [BillMismatch(row.out_trade_no, problem) for problem in problems]
            refund = orders.find_refund(row.out_refund_no)
            now_recorded = refund is not None and refund.status is RefundStatus.SUCCESS
            mismatches.append(
                BillMismatch(
                    row.out_trade_no,
                    f"微信已退款 {row.refund_fen} 分（{row.out_refund_no}），{recorded}"
                    + ("：已补记" if now_recorded else ""),
                )
            )
        elif refund.amount_fen != row.refund_fen:
            mismatches.append(
                BillMismatch(
                    row.out_trade_no,
                    f"退款金额不一致（{row.out_refund_no}）：微信 {row.refund_fen} 分，"
                    f"本店 {refund.amount_fen} 分",
                )
            )
    db.session.commit()
    return mismatches


def _paid_here_only(start: datetime, end: datetime, payments: dict) -> list[BillMismatch]:
    paid_here = db.session.execute(
        sa.select(Order.out_trade_no, Order.transaction_id).where(
            Order.status.in_(WAS_PAID),
            Order.transaction_id.is_not(None),
            Order.paid_at >= start,
            Order.paid_at < end,
        )
    ).all()
    db.session.commit()
    mismatches = []
    for out_trade_no, transaction_id in paid_here:
        if out_trade_no in payments:
            continue
        if transaction_id.startswith(DEMO_TRANSACTION_PREFIX):
            mismatches.append(BillMismatch(out_trade_no, "演示订单，只在本店", demo=True))
        else:
            mismatches.append(
                BillMismatch(
                    out_trade_no, "本店记为已支付，微信对账单没有这笔支付（伪造的支付通知？）"
                )
            )
    return mismatches


def _refunded_here_only(start: datetime, end: datetime, rows) -> list[BillMismatch]:
    in_bill = {row.out_refund_no for row in rows}
    refunded_here = db.session.execute(
        sa.select(Order.out_trade_no, Order.transaction_id, Refund.out_refund_no)
        .join(Order, Order.id == Refund.order_id)
        .where(
            Refund.status == RefundStatus.SUCCESS,
            Refund.finished_at >= start,
            Refund.finished_at < end,
        )
    ).all()
    db.session.commit()
    mismatches = []
    for out_trade_no, transaction_id, out_refund_no in refunded_here:
        if out_refund_no in in_bill:
            continue
        if (transaction_id or "").startswith(DEMO_TRANSACTION_PREFIX):
            mismatches.append(BillMismatch(out_trade_no, "演示订单的退款，只在本店", demo=True))
        else:
            mismatches.append(
                BillMismatch(
                    out_trade_no, f"本店记为已退款（{out_refund_no}），微信对账单没有这笔退款"
                )
            )
    return mismatches
