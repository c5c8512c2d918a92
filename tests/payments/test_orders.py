"""The order state machine, directly: placing, paying, closing, refunding."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Entitlement, Order, OrderStatus, PayChannel, RefundStatus
from app.models.base import utcnow
from app.payments import orders
from tests import factories

TTL = timedelta(hours=2)


@pytest.fixture
def shop(app_ctx):
    product = factories.product(price_fen=4900)
    reader = factories.reader()
    db.session.commit()
    return product, reader


def _pay(order, amount=None):
    """Pay as a notification would; the order object is refreshed, as after a commit."""
    try:
        return _confirm(order, amount)
    finally:
        db.session.refresh(order)


def _confirm(order, amount):
    return orders.confirm_payment(
        order.out_trade_no,
        transaction_id="4200" + order.out_trade_no[-24:],
        amount_fen=order.amount_fen if amount is None else amount,
        payer_openid=None,
        paid_at=utcnow(),
        source="test",
    )


def test_out_trade_no_is_32_unguessable_alphanumerics():
    numbers = {orders.new_out_trade_no(utcnow()) for _ in range(1000)}
    assert len(numbers) == 1000
    assert all(len(n) == 32 and n.isalnum() and n.isascii() for n in numbers)


def test_an_order_snapshots_title_and_price(shop):
    product, reader = shop
    order = orders.place_order(reader, product, PayChannel.NATIVE, "1.2.3.4", TTL)
    product.price_fen, product.title = 9900, "改了名字"
    db.session.flush()
    assert order.amount_fen == 4900 and order.title != "改了名字"
    assert order.expires_at - order.created_at == TTL


def test_double_clicks_reuse_the_open_order(shop):
    product, reader = shop
    first = orders.place_order(reader, product, PayChannel.NATIVE, "1.2.3.4", TTL)
    second = orders.place_order(reader, product, PayChannel.NATIVE, "1.2.3.4", TTL)
    assert first.id == second.id


def test_another_channel_replaces_the_open_order(shop):
    product, reader = shop
    desktop = orders.place_order(reader, product, PayChannel.NATIVE, "1.2.3.4", TTL)
    phone = orders.place_order(reader, product, PayChannel.H5, "1.2.3.4", TTL)
    assert phone.id != desktop.id
    assert desktop.status is OrderStatus.CLOSED and desktop.close_reason == "replaced"


def test_a_price_change_replaces_the_open_order_at_the_current_price(shop):
    product, reader = shop
    old = orders.place_order(reader, product, PayChannel.NATIVE, "1.2.3.4", TTL)
    product.price_fen, product.title = 3900, "降价了"
    db.session.flush()
    new = orders.place_order(reader, product, PayChannel.NATIVE, "1.2.3.4", TTL)
    assert new.id != old.id and new.amount_fen == 3900 and new.title == "降价了"
    assert old.status is OrderStatus.CLOSED and old.close_reason == "repriced"


def test_a_rename_alone_keeps_the_open_order(shop):
    """Same money, and the title WeChat shows was fixed at the prepay: nothing to replace."""
    product, reader = shop
    first = orders.place_order(reader, product, PayChannel.NATIVE, "1.2.3.4", TTL)
    product.title = "改了名字"
    db.session.flush()
    again = orders.place_order(reader, product, PayChannel.NATIVE, "1.2.3.4", TTL)
    assert again.id == first.id and again.status is OrderStatus.PENDING


def test_an_expired_open_order_is_closed_and_replaced(shop):
    product, reader = shop
    old = orders.place_order(reader, product, PayChannel.NATIVE, "1.2.3.4", TTL, utcnow() - 3 * TTL)
    new = orders.place_order(reader, product, PayChannel.NATIVE, "1.2.3.4", TTL)
    assert new.id != old.id and old.status is OrderStatus.CLOSED


def test_the_database_allows_one_open_order_per_reader_and_product(shop):
    product, reader = shop
    orders.place_order(reader, product, PayChannel.NATIVE, "1.2.3.4", TTL)
    db.session.add(
        Order(
            out_trade_no="x" * 32,
            reader_id=reader.id,
            product_id=product.id,
            title="t",
            amount_fen=1,
            channel=PayChannel.NATIVE,
            client_ip="1.2.3.4",
            expires_at=utcnow() + TTL,
        )
    )
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_nothing_free_unpublished_or_owned_can_be_ordered(shop):
    product, reader = shop
    free = factories.product(price_fen=0)
    draft = factories.product(published=False)
    with pytest.raises(orders.NotForSale):
        orders.place_order(reader, free, PayChannel.NATIVE, "1.2.3.4", TTL)
    with pytest.raises(orders.NotForSale):
        orders.place_order(reader, draft, PayChannel.NATIVE, "1.2.3.4", TTL)
    factories.give(reader, product)
    with pytest.raises(orders.AlreadyOwned):
        orders.place_order(reader, product, PayChannel.NATIVE, "1.2.3.4", TTL)


def test_amounts_must_match_exactly(shop):
    product, reader = shop
    order = orders.place_order(reader, product, PayChannel.NATIVE, "1.2.3.4", TTL)
    for wrong in (4899, 4901, 0, 490000):
        with pytest.raises(orders.AmountMismatch):
            _pay(order, wrong)
    assert order.status is OrderStatus.PENDING


def test_paying_twice_fulfils_once(shop):
    product, reader = shop
    order = orders.place_order(reader, product, PayChannel.NATIVE, "1.2.3.4", TTL)
    assert _pay(order) is True
    assert _pay(order) is False
    entitlement = db.session.scalar(sa.select(Entitlement))
    assert entitlement.order_id == order.id


def test_closing_only_closes_pending_orders(shop):
    product, reader = shop
    order = orders.place_order(reader, product, PayChannel.NATIVE, "1.2.3.4", TTL)
    _pay(order)
    assert orders.close(order, "cancelled") is False
    assert order.status is OrderStatus.PAID


def _paid_order(shop):
    product, reader = shop
    order = orders.place_order(reader, product, PayChannel.NATIVE, "1.2.3.4", TTL)
    _pay(order)
    return order


def test_partial_then_full_refund(shop):
    order = _paid_order(shop)
    first = orders.open_refund(order, 900, "部分退款")
    assert orders.settle_refund(first.out_refund_no, "SUCCESS", "r1", None, True) is True
    assert order.status is OrderStatus.PARTIALLY_REFUNDED and order.refunded_fen == 900
    assert db.session.scalar(sa.select(Entitlement)) is not None  # still readable

    second = orders.open_refund(order, 4000, "余下的")
    orders.settle_refund(second.out_refund_no, "SUCCESS", "r2", None, True)
    assert order.status is OrderStatus.REFUNDED and order.refunded_fen == 4900
    assert db.session.scalar(sa.select(Entitlement)) is None  # a full refund takes access back


def test_refunds_cannot_exceed_what_was_paid(shop):
    order = _paid_order(shop)
    orders.open_refund(order, 4000, "")
    with pytest.raises(orders.RefundNotAllowed):
        orders.open_refund(order, 901, "")  # 4000 is in flight: only 900 is left
    with pytest.raises(orders.RefundNotAllowed):
        orders.open_refund(order, 0, "")


def test_refundable_is_what_is_neither_refunded_nor_on_its_way(shop):
    product, reader = shop
    unpaid = orders.place_order(reader, product, PayChannel.NATIVE, "1.2.3.4", TTL)
    assert orders.refundable_fen(unpaid) == 0
    order = _paid_order(shop)
    assert orders.refundable_fen(order) == 4900
    settled = orders.open_refund(order, 900, "")
    orders.settle_refund(settled.out_refund_no, "SUCCESS", "r1", None, True)
    assert orders.refundable_fen(order) == 4000  # partly refunded
    failed = orders.open_refund(order, 1000, "")
    assert orders.refundable_fen(order) == 3000  # 1000 on its way
    orders.refund_refused(failed, "ERROR")
    assert orders.refundable_fen(order) == 4000  # refused: it may be asked for again
    rest = orders.open_refund(order, 4000, "")
    orders.settle_refund(rest.out_refund_no, "SUCCESS", "r2", None, True)
    assert orders.refundable_fen(order) == 0


def test_refund_settlement_is_idempotent(shop):
    order = _paid_order(shop)
    refund = orders.open_refund(order, 4900, "")
    assert orders.settle_refund(refund.out_refund_no, "SUCCESS", "r", None, False) is True
    assert orders.settle_refund(refund.out_refund_no, "SUCCESS", "r", None, False) is False
    assert order.refunded_fen == 4900
    assert refund.status is RefundStatus.SUCCESS
    assert db.session.scalar(sa.select(Entitlement)) is not None  # revoke_access=False


def test_unpaid_orders_cannot_be_refunded(shop):
    product, reader = shop
    order = orders.place_order(reader, product, PayChannel.NATIVE, "1.2.3.4", TTL)
    with pytest.raises(orders.RefundNotAllowed):
        orders.open_refund(order, 100, "")


def test_refunding_one_order_keeps_access_another_paid_order_gives(shop):
    """A reader who paid twice (say, an old QR and then in WeChat) keeps reading when the
    creator refunds the duplicate."""
    product, reader = shop
    first = orders.place_order(reader, product, PayChannel.NATIVE, "1.2.3.4", TTL)
    _pay(first)
    second = Order(
        out_trade_no=orders.new_out_trade_no(utcnow()),
        reader_id=reader.id,
        product_id=product.id,
        title=product.title,
        amount_fen=product.price_fen,
        channel=PayChannel.H5,
        client_ip="1.2.3.4",
        expires_at=utcnow() + TTL,
    )
    db.session.add(second)
    db.session.flush()
    _pay(second)

    refund = orders.open_refund(first, first.amount_fen, "重复购买")
    orders.settle_refund(refund.out_refund_no, "SUCCESS", "r", None, True)
    entitlement = db.session.scalar(
        sa.select(Entitlement).where(Entitlement.reader_id == reader.id)
    )
    assert entitlement is not None and entitlement.order_id == second.id


def test_a_double_click_race_finds_one_order(app):
    """Two requests place the same order at once: one order, on SQLite and PostgreSQL."""
    import threading

    from app.transactions import begin_write

    with app.app_context():
        product = factories.product(price_fen=4900)
        reader = factories.reader()
        db.session.commit()
        ids = product.id, reader.id
    found, barrier = [], threading.Barrier(2)

    def click():
        with app.app_context():
            barrier.wait()
            begin_write()
            placed = orders.place_order(
                db.session.get(factories.Reader, ids[1]),
                db.session.get(factories.Product, ids[0]),
                PayChannel.NATIVE,
                "1.2.3.4",
                TTL,
            )
            db.session.commit()
            found.append(placed.id)

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(found) == 2 and found[0] == found[1]
