"""What a reader's order looks like from outside: the pay pages' polling and the JSON API."""

from datetime import timedelta

import pytest

from app.models import Order, OrderKind, OrderStatus
from app.models.base import utcnow
from app.payments.order_status import public_order, public_status


def _order(status, *, expires_in=timedelta(minutes=30), paid=False):
    now = utcnow()
    return Order(
        out_trade_no="20240301120000abcdefghijklmnopqr",
        kind=OrderKind.PURCHASE,
        status=status,
        amount_fen=990,
        expires_at=now + expires_in,
        paid_at=now if paid else None,
    )


@pytest.mark.parametrize(
    ("status", "expires_in", "shown"),
    [
        (OrderStatus.PENDING, timedelta(minutes=30), OrderStatus.PENDING),
        (OrderStatus.PENDING, timedelta(minutes=-1), OrderStatus.CLOSED),  # expired
        (OrderStatus.PAID, timedelta(minutes=-1), OrderStatus.PAID),
        (OrderStatus.PARTIALLY_REFUNDED, timedelta(0), OrderStatus.PAID),  # still paid for
        (OrderStatus.REFUNDED, timedelta(0), OrderStatus.REFUNDED),
        (OrderStatus.CLOSED, timedelta(minutes=30), OrderStatus.CLOSED),
    ],
)
def test_the_reader_sees_a_simpler_status(status, expires_in, shown):
    assert public_status(_order(status, expires_in=expires_in)) is shown


def test_only_a_paid_order_says_where_to_go_next():
    def after_payment_url(order):
        return f"/next/{order.out_trade_no}"

    paid = public_order(_order(OrderStatus.PAID, paid=True), after_payment_url)
    assert paid["status"] == "paid" and paid["next"] == f"/next/{paid['out_trade_no']}"
    assert paid["kind"] == "purchase" and paid["amount_fen"] == 990 and paid["paid_at"]
    refunded_in_part = public_order(_order(OrderStatus.PARTIALLY_REFUNDED), after_payment_url)
    assert refunded_in_part["status"] == "paid" and refunded_in_part["next"] is None
    pending = public_order(_order(OrderStatus.PENDING), after_payment_url)
    assert pending["next"] is None and pending["paid_at"] is None
