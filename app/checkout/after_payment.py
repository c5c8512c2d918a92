"""The 公众号's messages about a payment, sent right after the response that recorded it.

The payment is committed first; a read picks those of its messages WeChat may take (most
need none: no template and no recent interaction), and they go out as the response to
WeChat's notification, or to the reader's pay page, closes, in an app context of their own.
Nothing they do reaches the response: an error is logged, and the row waits for
`flask wechat messages send` (app/wechat/outbox.py).
"""

from flask import Flask, after_this_request, current_app

from app.checkout.common import query_floor
from app.extensions import db
from app.models import Order, OrderStatus
from app.payments import reconcile
from app.payments.gateway import current_gateway
from app.wechat import outbox


def send_messages_after_response(out_trade_no: str) -> None:
    """Those of the payment's messages WeChat may take (one read, no network) are sent as
    this response closes."""
    try:
        ready = outbox.worth_sending_now(out_trade_no)
    except Exception:  # bookkeeping never fails the payment's answer
        db.session.rollback()
        current_app.logger.exception("looking at the messages after a payment failed")
        return
    if not ready:
        return
    app = current_app._get_current_object()

    @after_this_request
    def send_when_closed(response):
        response.call_on_close(lambda: _send(app, ready))
        return response


def _send(app: Flask, ready: list[int]) -> None:
    try:
        with app.app_context():
            outbox.send_these(ready)
    except Exception:
        app.logger.exception("sending the messages after a payment failed")


def check_payment(order: Order, *, by_reader: bool = False) -> Order:
    """reconcile.check_if_due, and the messages sent after the response when asking WeChat
    found the order paid (the notification may be late, or lost)."""
    was_pending = order.status is OrderStatus.PENDING
    order = reconcile.check_if_due(current_gateway(), order, query_floor(), by_reader=by_reader)
    if was_pending and order.holds_money:
        send_messages_after_response(order.out_trade_no)
    return order
