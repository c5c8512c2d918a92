"""WeChat's server-to-server notifications. Verified by signature (or decryption), so no CSRF.

Every failure is answered in the protocol's XML with FAIL, never with a 5xx: malformed XML,
entity declarations, wrong signatures and unknown orders included.
"""

from flask import current_app, request

from app.checkout import bp
from app.checkout.after_payment import send_messages_after_response
from app.extensions import csrf, db, limiter
from app.payments import notifications
from app.payments.gateway import current_gateway
from app.payments.wechatpay_v2 import MAX_NOTIFICATION_BYTES
from app.web.request_limits import reads_own_body


@limiter.request_filter
def _skip_limiter_for_wechat() -> bool:
    """WeChat's notifications must never be throttled (a refused one is retried for a day);
    skipping the limiter's bookkeeping also keeps the hot path short."""
    return request.endpoint in ("checkout.payment_notify", "checkout.refund_notify")


def _body() -> bytes:
    """At most one byte more than a notification may have: a huge body is never read whole
    (the gateway refuses anything over the limit)."""
    return request.stream.read(MAX_NOTIFICATION_BYTES + 1)


def _xml(answer: str):
    # WeChat reads the body, not the status; 200 either way keeps it from treating us as down.
    return current_app.response_class(answer, 200, mimetype="text/xml")


@bp.post("/pay/wechat/notify")
@csrf.exempt
@reads_own_body
def payment_notify():
    gateway = current_gateway()
    try:
        _, answer, paid = notifications.handle_payment_notification(gateway, _body())
        if paid is not None:
            send_messages_after_response(paid)
    except Exception:
        db.session.rollback()
        current_app.logger.exception("payment notification failed")
        answer = gateway.failure_answer("处理失败")
    return _xml(answer)


@bp.post("/pay/wechat/refund-notify")
@csrf.exempt
@reads_own_body
def refund_notify():
    gateway = current_gateway()
    try:
        _, answer = notifications.handle_refund_notification(
            gateway,
            _body(),
            current_app.config["REFUND_REVOKES_ACCESS"],
        )
    except Exception:
        db.session.rollback()
        current_app.logger.exception("refund notification failed")
        answer = gateway.failure_answer("处理失败")
    return _xml(answer)
