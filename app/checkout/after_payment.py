"""The 公众号's messages about a payment, sent right after the response that recorded it.

The payment is committed and answered first (WeChat's notification, the reader's pay page);
the messages it queued go out as that response closes, in an app context of their own.
Nothing they do reaches the response: an error is logged, and the row waits for
`flask wechat messages send` (app/wechat/outbox.py).
"""

from flask import Flask, after_this_request, current_app

from app.checkout.common import query_floor
from app.models import Order, OrderStatus
from app.payments import reconcile
from app.payments.gateway import current_gateway
from app.wechat import outbox


def send_messages_after_response() -> None:
    app = current_app._get_current_object()

    @after_this_request
    def send_when_closed(response):
        response.call_on_close(lambda: _send_fresh(app))
        return response


def _send_fresh(app: Flask) -> None:
    try:
        with app.app_context():
            outbox.send_fresh()
    except Exception:
        app.logger.exception("sending the messages after a payment failed")


def check_payment(order: Order, *, by_reader: bool = False) -> Order:
    """reconcile.check_if_due, and the messages sent after the response when asking WeChat
    found the order paid (the notification may be late, or lost)."""
    was_pending = order.status is OrderStatus.PENDING
    order = reconcile.check_if_due(current_gateway(), order, query_floor(), by_reader=by_reader)
    if was_pending and order.holds_money:
        send_messages_after_response()
    return order
