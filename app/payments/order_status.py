"""What a reader is told about their order: the pay pages' polling and GET /api/orders/<no>.

The reader's status is simpler than the order's own: a partly refunded order is still paid
for, and an expired pending order is closed for the reader before reconcile closes it.
"""

from collections.abc import Callable

from app.models import Order, OrderStatus


def public_status(order: Order) -> OrderStatus:
    if order.status is OrderStatus.PARTIALLY_REFUNDED:
        return OrderStatus.PAID  # still paid for: part of the money came back
    if order.status is OrderStatus.PENDING and not order.is_open:
        return OrderStatus.CLOSED  # expired: closed here for the reader even before reconcile
    return order.status


def public_order(order: Order, after_payment_url: Callable[[Order], str]) -> dict:
    """The order as JSON. `after_payment_url` says where a paid order takes the reader (the
    web layer knows the pages); it is asked only once the order is paid."""
    paid = order.status is OrderStatus.PAID
    return {
        "out_trade_no": order.out_trade_no,
        "kind": order.kind.value,
        "status": public_status(order).value,
        "amount_fen": order.amount_fen,
        "expires_at": order.expires_at.isoformat(),
        "paid_at": order.paid_at.isoformat() if order.paid_at else None,
        "next": after_payment_url(order) if paid else None,
    }
