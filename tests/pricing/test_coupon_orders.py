"""Coupons on orders: a use reserved when the order is made, kept when it is paid, given back
when it closes unpaid; limits that hold under concurrent checkouts; refunds of discounted
orders; an order brought to 0."""

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import (
    CouponKind,
    CouponUse,
    CouponUseStatus,
    Entitlement,
    Order,
    OrderStatus,
    PayChannel,
    Product,
    Reader,
)
from app.models.base import utcnow
from app.payments import orders
from app.pricing import coupons, offers
from app.pricing.refusals import PriceRefused
from app.transactions import begin_write
from tests import factories
from tests.pricing.helpers import pay

TTL = timedelta(hours=2)


@pytest.fixture
def item(app_ctx):
    product = factories.product(price_fen=9900)
    db.session.commit()
    return product


def _use_of(order) -> CouponUse:
    return db.session.scalar(sa.select(CouponUse).where(CouponUse.order_id == order.id))


def test_the_order_keeps_the_price_it_was_made_at_line_by_line(item):
    now = utcnow()
    offers.create(item, 6900, now - timedelta(hours=1), now + timedelta(hours=1))
    made = factories.coupon(code="SPRING")
    reader = factories.reader()
    order = orders.place_order(
        reader, item, PayChannel.NATIVE, "1.2.3.4", TTL, coupon_code="spring"
    )
    db.session.commit()
    assert order.amount_fen == 5900 and order.list_price_fen == 9900
    assert order.coupon_id == made.id
    assert [line["kind"] for line in order.price_lines] == ["list", "offer", "coupon"]
    assert sum(line["fen"] for line in order.price_lines) == order.amount_fen
    assert _use_of(order).status is CouponUseStatus.RESERVED and _use_of(order).discount_fen == 1000


def test_a_use_is_kept_when_paid_and_given_back_when_closed(item):
    made = factories.coupon(code="LIMITED", total_limit=2)
    first, second = factories.reader(), factories.reader()
    paid = orders.place_order(first, item, PayChannel.NATIVE, "1.2.3.4", TTL, coupon_code="LIMITED")
    unpaid = orders.place_order(
        second, item, PayChannel.NATIVE, "1.2.3.4", TTL, coupon_code="LIMITED"
    )
    db.session.commit()
    db.session.refresh(made)
    assert made.used_count == 2

    assert pay(paid)
    assert _use_of(paid).status is CouponUseStatus.KEPT
    orders.close(unpaid, "expired")
    db.session.commit()
    db.session.refresh(made)
    assert _use_of(unpaid).status is CouponUseStatus.RELEASED and made.used_count == 1
    third = factories.reader()
    again = orders.place_order(
        third, item, PayChannel.NATIVE, "1.2.3.4", TTL, coupon_code="LIMITED"
    )
    db.session.commit()
    assert again.amount_fen == 8900


def test_a_payment_after_the_order_closed_keeps_its_use_past_the_limit(item):
    made = factories.coupon(code="LASTONE", total_limit=1)
    late, taker = factories.reader(), factories.reader()
    order = orders.place_order(late, item, PayChannel.NATIVE, "1.2.3.4", TTL, coupon_code="LASTONE")
    orders.close(order, "expired")
    db.session.commit()
    orders.place_order(taker, item, PayChannel.NATIVE, "1.2.3.4", TTL, coupon_code="LASTONE")
    db.session.commit()
    # WeChat took the discounted money for the closed order after all: honoured, kept.
    assert pay(order)
    db.session.refresh(made)
    assert order.status is OrderStatus.PAID and _use_of(order).status is CouponUseStatus.KEPT
    assert made.used_count == 2


def test_the_notification_must_match_the_discounted_amount(item):
    factories.coupon(code="MATCH")
    reader = factories.reader()
    order = orders.place_order(reader, item, PayChannel.NATIVE, "1.2.3.4", TTL, coupon_code="MATCH")
    db.session.commit()
    with pytest.raises(orders.AmountMismatch):
        pay(order, amount=9900)  # the list price is not what was asked for
    db.session.rollback()
    assert db.session.get(Order, order.id).status is OrderStatus.PENDING
    assert pay(order, amount=8900)


def test_a_coupon_for_everything_completes_the_order_without_wechat(item):
    factories.coupon(code="GIFT100", kind=CouponKind.PERCENT, percent_off=100)
    reader = factories.reader()
    order = orders.place_order(
        reader, item, PayChannel.JSAPI, "1.2.3.4", TTL, coupon_code="GIFT100"
    )
    db.session.commit()
    assert order.status is OrderStatus.PAID and order.amount_fen == 0
    assert order.channel is PayChannel.NONE and order.transaction_id is None
    assert _use_of(order).status is CouponUseStatus.KEPT
    assert (
        db.session.scalar(sa.select(Entitlement.order_id).where(Entitlement.reader_id == reader.id))
        == order.id
    )
    assert orders.refundable_fen(order) == 0
    with pytest.raises(orders.AlreadyOwned):
        orders.place_order(reader, item, PayChannel.JSAPI, "1.2.3.4", TTL, coupon_code="GIFT100")


def test_only_an_order_wechat_never_sees_may_be_for_nothing(item):
    reader = factories.reader()
    db.session.add(
        Order(
            out_trade_no="X" * 32,
            reader_id=reader.id,
            product_id=item.id,
            title="t",
            amount_fen=0,
            channel=PayChannel.NATIVE,
            client_ip="1.2.3.4",
            expires_at=utcnow(),
        )
    )
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()


def test_another_coupon_replaces_the_open_order_and_gives_its_use_back(item):
    first = factories.coupon(code="FIRST")
    factories.coupon(code="SECOND", amount_off_fen=2000)
    reader = factories.reader()
    old = orders.place_order(reader, item, PayChannel.NATIVE, "1.2.3.4", TTL, coupon_code="FIRST")
    same = orders.place_order(reader, item, PayChannel.NATIVE, "1.2.3.4", TTL, coupon_code="FIRST")
    assert same.id == old.id  # a double click reuses it, and its use
    new = orders.place_order(reader, item, PayChannel.NATIVE, "1.2.3.4", TTL, coupon_code="SECOND")
    db.session.commit()
    db.session.refresh(first)
    assert new.id != old.id and new.amount_fen == 7900
    assert old.status is OrderStatus.CLOSED and old.close_reason == "repriced"
    assert _use_of(old).status is CouponUseStatus.RELEASED and first.used_count == 0
    without = orders.place_order(reader, item, PayChannel.NATIVE, "1.2.3.4", TTL)
    db.session.commit()
    assert without.amount_fen == 9900 and _use_of(new).status is CouponUseStatus.RELEASED


def test_a_price_shown_before_the_offer_ended_is_asked_again(item):
    now = utcnow()
    offers.create(item, 6900, now - timedelta(hours=1), now + timedelta(minutes=1))
    reader = factories.reader()
    with pytest.raises(orders.PriceChanged):
        orders.place_order(
            reader,
            item,
            PayChannel.NATIVE,
            "1.2.3.4",
            TTL,
            now=now + timedelta(minutes=2),
            expected_total_fen=6900,
        )


def test_partial_refunds_of_a_discounted_order_never_exceed_what_was_paid(item):
    factories.coupon(code="HALF", kind=CouponKind.PERCENT, percent_off=50)
    reader = factories.reader()
    order = orders.place_order(reader, item, PayChannel.NATIVE, "1.2.3.4", TTL, coupon_code="HALF")
    db.session.commit()
    pay(order)
    assert order.amount_fen == 4950 and orders.refundable_fen(order) == 4950
    refund = orders.open_refund(order, 3000, "部分")
    orders.settle_refund(refund.out_refund_no, "SUCCESS", "r1", None, True)
    db.session.commit()
    assert orders.refundable_fen(order) == 1950
    with pytest.raises(orders.RefundNotAllowed):
        orders.open_refund(order, 2000, "超过")
    refund = orders.open_refund(order, 1950, "余下")
    orders.settle_refund(refund.out_refund_no, "SUCCESS", "r2", None, True)
    db.session.commit()
    db.session.refresh(order)
    assert order.status is OrderStatus.REFUNDED and order.refunded_fen == 4950
    assert (
        db.session.scalar(sa.select(Entitlement).where(Entitlement.reader_id == reader.id)) is None
    )


def _race(app, place, count: int):
    """`count` checkouts at once, each in its own app context and transaction."""
    outcomes, barrier = [], threading.Barrier(count)

    def checkout(index):
        with app.app_context():
            barrier.wait()
            try:
                begin_write()
                order = place(index)
                db.session.commit()
                outcomes.append(order.id)
            except PriceRefused as refused:
                db.session.rollback()
                outcomes.append(refused.code)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=checkout, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_concurrent_checkouts_never_exceed_the_total_limit(app):
    with app.app_context():
        item = factories.product(price_fen=9900)
        readers = [factories.reader() for _ in range(8)]
        factories.coupon(code="RUSH", total_limit=3)
        ids = item.id, [r.id for r in readers]

    def place(index):
        return orders.place_order(
            db.session.get(Reader, ids[1][index]),
            db.session.get(Product, ids[0]),
            PayChannel.NATIVE,
            "1.2.3.4",
            TTL,
            coupon_code="RUSH",
        )

    outcomes = _race(app, place, 8)
    assert sum(isinstance(o, int) for o in outcomes) == 3
    assert outcomes.count("coupon_used_up") == 5
    with app.app_context():
        coupon = coupons.find("RUSH")
        held = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(CouponUse)
            .where(CouponUse.coupon_id == coupon.id)
        )
        assert coupon.used_count == held == 3


def test_concurrent_checkouts_of_one_reader_never_exceed_their_limit(app):
    with app.app_context():
        items = [factories.product(price_fen=9900) for _ in range(6)]
        reader = factories.reader()
        factories.coupon(code="MINE", per_reader_limit=2)
        ids = [i.id for i in items], reader.id

    def place(index):
        return orders.place_order(
            db.session.get(Reader, ids[1]),
            db.session.get(Product, ids[0][index]),
            PayChannel.NATIVE,
            "1.2.3.4",
            TTL,
            coupon_code="MINE",
        )

    outcomes = _race(app, place, 6)
    assert sum(isinstance(o, int) for o in outcomes) == 2
    assert outcomes.count("coupon_reader_limit") == 4
    with app.app_context():
        assert coupons.find("MINE").used_count == 2
