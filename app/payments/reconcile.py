"""Asking WeChat instead of waiting for it: order queries, expiry, refunds, the daily bill.

Notifications can be lost or late; these make the shop right anyway. Each call to WeChat
happens outside any write transaction.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from app.extensions import db
from app.models import Order, OrderStatus, Refund, RefundStatus
from app.models.base import utcnow
from app.payments import orders, refunds
from app.payments.gateway import GatewayError, PaymentGateway
from app.transactions import begin_write


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
    return orders.find(out_trade_no)


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
    WeChat and here, settle refunds that are still processing, and send again the refunds
    WeChat never received (a time-out or a passing error when they were asked for)."""
    now = now or utcnow()
    report = ReconcileReport()
    pending = db.session.scalars(
        sa.select(Order.out_trade_no).where(
            Order.status == OrderStatus.PENDING, Order.created_at <= now - older_than
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

    processing = db.session.scalars(
        sa.select(Refund.out_refund_no).where(Refund.status == RefundStatus.PROCESSING)
    ).all()
    db.session.commit()
    for out_refund_no in processing:
        try:
            result = gateway.query_refund(out_refund_no)
        except GatewayError as error:
            if error.code == "REFUNDNOTEXIST":
                try:
                    refunds.send_refund(gateway, out_refund_no, refund_notify_url)
                    report.refunds_resent.append(out_refund_no)
                except refunds.RefundError as refused:
                    report.errors.append(f"{out_refund_no}: {refused.message}")
            else:
                report.errors.append(f"{out_refund_no}: {error.code} {error.message}")
            continue
        begin_write()
        if orders.settle_refund(
            out_refund_no, result.status, result.refund_id, result.finished_at, revoke_access
        ):
            report.refunds_settled.append(out_refund_no)
        db.session.commit()
    return report


@dataclass(frozen=True)
class BillMismatch:
    out_trade_no: str
    problem: str


def compare_bill(gateway: PaymentGateway, day: date) -> list[BillMismatch]:
    """Every difference between WeChat's bill for `day` and the shop's orders."""
    mismatches = []
    for row in gateway.download_bill(day):
        if row.trade_state != "SUCCESS":
            continue
        order = orders.find(row.out_trade_no)
        if order is None:
            mismatches.append(BillMismatch(row.out_trade_no, "微信有这笔支付，本店没有这个订单"))
        elif order.status in (OrderStatus.PENDING, OrderStatus.CLOSED):
            mismatches.append(BillMismatch(row.out_trade_no, "微信已收款，本店订单未支付"))
        elif order.amount_fen != row.amount_fen:
            mismatches.append(
                BillMismatch(
                    row.out_trade_no,
                    f"金额不一致：微信 {row.amount_fen} 分，本店 {order.amount_fen} 分",
                )
            )
        elif order.transaction_id != row.transaction_id:
            mismatches.append(BillMismatch(row.out_trade_no, "微信支付单号不一致"))
    return mismatches
