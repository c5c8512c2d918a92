"""What WeChat's notifications do. Each returns the protocol answer to send back.

SUCCESS is answered only after the result is committed; anything else makes WeChat retry.
"""

import logging
from typing import NamedTuple

from app.extensions import db
from app.models import PaymentEventKind
from app.payments import orders
from app.payments.gateway import InvalidNotification, PaymentGateway
from app.transactions import begin_write

log = logging.getLogger(__name__)


class PaymentAnswer(NamedTuple):
    accepted: bool
    xml: str  # the protocol answer
    paid: str | None = None  # the out_trade_no this notification made paid (messages queued)


def handle_payment_notification(gateway: PaymentGateway, body: bytes) -> PaymentAnswer:
    """What to answer one payment notification, and whether it recorded a payment."""
    try:
        notice = gateway.parse_payment_notification(body)
    except InvalidNotification as error:
        log.warning("payment notification refused: %s", error)
        _note_refusal(error)
        return PaymentAnswer(False, gateway.failure_answer("签名失败"))
    if not notice.succeeded:
        return PaymentAnswer(True, gateway.success_answer())  # a failed payment changes nothing
    begin_write()
    if orders.already_paid_by(notice.out_trade_no, notice.transaction_id):
        # WeChat repeats itself (retries, several servers at once): one indexed read, and
        # nothing written. Concurrent repeats queue on the lock and land here.
        db.session.rollback()
        return PaymentAnswer(True, gateway.success_answer())
    try:
        paid = orders.confirm_payment(
            notice.out_trade_no,
            transaction_id=notice.transaction_id,
            amount_fen=notice.amount_fen,
            payer_openid=notice.payer_openid,
            paid_at=notice.paid_at,
            source="notify",
        )
    except orders.OrderError as error:
        db.session.commit()  # keep the audit event that says why
        return PaymentAnswer(False, gateway.failure_answer(error.message))
    db.session.commit()
    return PaymentAnswer(True, gateway.success_answer(), notice.out_trade_no if paid else None)


def handle_refund_notification(
    gateway: PaymentGateway, body: bytes, revoke_access: bool
) -> tuple[bool, str]:
    try:
        result = gateway.parse_refund_notification(body)
    except InvalidNotification as error:
        log.warning("refund notification refused: %s", error)
        return False, gateway.failure_answer("解密失败")
    begin_write()
    try:
        orders.settle_refund(
            result.out_refund_no,
            result.status,
            result.refund_id,
            result.finished_at,
            revoke_access,
            out_trade_no=result.out_trade_no,
            amount_fen=result.amount_fen,
        )
    except orders.OrderError as error:
        db.session.commit()
        return False, gateway.failure_answer(error.message)
    db.session.commit()
    return True, gateway.success_answer()


def _note_refusal(error: InvalidNotification) -> None:
    """A signed notification refused for naming another merchant belongs to the order it
    names. Unsigned or undecryptable ones name nothing believable and are only logged."""
    if error.out_trade_no is None:
        return
    begin_write()
    order = orders.find(error.out_trade_no)
    if order is not None:
        orders.record_event(order, PaymentEventKind.NOTIFICATION_REFUSED, why=str(error))
    db.session.commit()
