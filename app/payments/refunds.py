"""Refunds, full or partial, as the creator studio and the CLI ask for them."""

from app.extensions import db
from app.models import Order, Refund
from app.payments import orders
from app.payments.gateway import GatewayError, PaymentGateway
from app.transactions import begin_write, writing


class RefundError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def refund_order(
    gateway: PaymentGateway,
    order: Order,
    amount_fen: int,
    reason: str,
    notify_url: str,
    revoke_access: bool,
) -> Refund:
    """Ask WeChat to refund `amount_fen` of a paid order.

    The refund is recorded (with its out_refund_no) before WeChat is asked, so a crash in
    between leaves a processing refund that `flask orders reconcile` settles. WeChat's
    acceptance is not the refund: the refund notification (or a query) settles it.
    """
    try:
        with writing():
            refund = orders.open_refund(order, amount_fen, reason)
    except orders.OrderError as error:
        raise RefundError(error.message) from error
    return send_refund(gateway, refund.out_refund_no, notify_url)


def send_refund(gateway: PaymentGateway, out_refund_no: str, notify_url: str) -> Refund:
    """Ask WeChat for a recorded refund. Asking again is safe: WeChat refunds one
    out_refund_no once, and a refund that failed for a passing reason is retried with
    the same number (docs/wechat-protocol.md §3.3)."""
    refund = _find(out_refund_no)
    order = refund.order
    try:
        result = gateway.refund(
            out_trade_no=order.out_trade_no,
            out_refund_no=out_refund_no,
            total_fen=order.amount_fen,
            refund_fen=refund.amount_fen,
            reason=refund.reason,
            notify_url=notify_url,
        )
    except GatewayError as error:
        begin_write()
        refund = _find(out_refund_no)
        why = f"{error.code} {error.message}"
        if error.outcome_unknown:
            # WeChat may have refunded it: never mark it failed (the reader would keep
            # access and a second refund could be sent); reconcile asks WeChat.
            orders.refund_outcome_unknown(refund, why)
            db.session.commit()
            raise RefundError(
                f"微信支付没有明确答复（{error.message}），退款仍在处理中，对账时会向微信查询结果"
            ) from error
        if not error.retryable:
            orders.refund_refused(refund, why)
        db.session.commit()
        raise RefundError(f"微信支付未受理退款：{error.message}") from error

    begin_write()
    refund = _find(out_refund_no)
    orders.refund_accepted(refund, result.refund_id)
    db.session.commit()
    return refund


def sync_refund(gateway: PaymentGateway, refund: Refund, revoke_access: bool) -> Refund:
    result = gateway.query_refund(refund.out_refund_no)
    begin_write()
    orders.settle_refund(
        refund.out_refund_no, result.status, result.refund_id, result.finished_at, revoke_access
    )
    db.session.commit()
    return _find(refund.out_refund_no)


def _find(out_refund_no: str) -> Refund:
    return db.session.scalar(db.select(Refund).where(Refund.out_refund_no == out_refund_no))
