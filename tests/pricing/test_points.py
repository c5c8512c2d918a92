"""积分: earned on paid purchases, spent at checkout, given back and taken back with closes
and refunds; a balance that never goes below 0, even with checkouts racing for it."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import (
    OrderStatus,
    PayChannel,
    PointsEntry,
    PointsKind,
    Product,
    Reader,
    ShopProfile,
)
from app.payments import orders
from app.pricing import points, rule
from app.pricing.refusals import PriceRefused
from app.readers import identity
from app.sandbox.notify import deliver_due_notifications
from tests import factories
from tests.conftest import sign_in_as
from tests.payflow import DESKTOP_UA, csrf_token_in, latest_order, pay_on_phone
from tests.pricing.helpers import pay
from tests.pricing.test_coupon_orders import _race

TTL = timedelta(hours=2)


def _rates(earn=1, per_yuan=100, max_percent=50):
    db.session.add(ShopProfile(name="店"))
    db.session.flush()
    points.save_settings(earn, per_yuan, max_percent)
    db.session.commit()


def _reader_with(balance: int) -> Reader:
    reader = factories.reader()
    reader.points_balance = balance  # as if earned earlier; the ledger is not the subject
    db.session.commit()
    return reader


def _paid(order):
    assert pay(order)


def _ledger(reader):
    return [
        (entry.kind, entry.points, entry.balance_after)
        for entry in db.session.scalars(
            sa.select(PointsEntry)
            .where(PointsEntry.reader_id == reader.id)
            .order_by(PointsEntry.id)
        )
    ]


@pytest.fixture
def item(app_ctx):
    product = factories.product(price_fen=9900)
    db.session.commit()
    return product


def test_a_paid_purchase_earns_at_the_shops_rate(item):
    _rates(earn=2)
    reader = _reader_with(0)
    order = orders.place_order(reader, item, PayChannel.NATIVE, "1.2.3.4", TTL)
    db.session.commit()
    _paid(order)
    db.session.refresh(reader)
    assert order.points_earned == 198 and reader.points_balance == 198
    assert _ledger(reader) == [(PointsKind.EARNED, 198, 198)]


def test_nothing_is_earned_while_earning_is_off(item):
    _rates(earn=0)
    reader = _reader_with(0)
    order = orders.place_order(reader, item, PayChannel.NATIVE, "1.2.3.4", TTL)
    db.session.commit()
    _paid(order)
    assert order.points_earned == 0 and _ledger(reader) == []


def test_points_take_money_off_up_to_the_shops_share(item):
    _rates(per_yuan=100, max_percent=50)
    reader = _reader_with(10000)
    price = rule.quote(item, reader.id, points=300)
    assert price.line("points").fen == -300 and price.points == 300 and price.total_fen == 9600
    capped = rule.quote(item, reader.id, points=10000)
    assert capped.points == 4950 and capped.total_fen == 4950  # half of ¥99 at most
    _rates(per_yuan=30, max_percent=50)  # 30 points a yuan: 1 point is 3.33 fen
    odd = rule.quote(item, reader.id, points=10)
    assert odd.line("points").fen == -33 and odd.points == 10
    with pytest.raises(PriceRefused) as refused:
        rule.quote(item, _reader_with(5).id, points=300)
    assert refused.value.code == "points_insufficient"
    _rates(per_yuan=0)
    with pytest.raises(PriceRefused) as refused:
        rule.quote(item, reader.id, points=300)
    assert refused.value.code == "points_disabled"


def test_spent_when_placed_and_given_back_when_closed_unpaid(item):
    _rates()
    reader = _reader_with(1000)
    order = orders.place_order(reader, item, PayChannel.NATIVE, "1.2.3.4", TTL, points_wanted=500)
    db.session.commit()
    db.session.refresh(reader)
    assert order.points_spent == 500 and order.amount_fen == 9400 and reader.points_balance == 500
    again = orders.place_order(reader, item, PayChannel.NATIVE, "1.2.3.4", TTL, points_wanted=500)
    assert again.id == order.id  # a double click: the same order, the points spent once
    orders.close(order, "expired")
    db.session.commit()
    db.session.refresh(reader)
    assert reader.points_balance == 1000
    assert _ledger(reader) == [(PointsKind.SPENT, -500, 500), (PointsKind.RETURNED, 500, 1000)]


def test_a_payment_after_the_close_spends_them_again(item):
    _rates(earn=0)
    reader = _reader_with(1000)
    order = orders.place_order(reader, item, PayChannel.NATIVE, "1.2.3.4", TTL, points_wanted=500)
    orders.close(order, "expired")
    db.session.commit()
    _paid(order)
    db.session.refresh(reader)
    assert order.status is OrderStatus.PAID and reader.points_balance == 500


def test_refunds_return_what_was_spent_and_take_back_what_was_earned_in_proportion(item):
    _rates(earn=1)
    reader = _reader_with(1000)
    order = orders.place_order(reader, item, PayChannel.NATIVE, "1.2.3.4", TTL, points_wanted=900)
    db.session.commit()
    _paid(order)  # paid ¥90, earned 90
    db.session.refresh(reader)
    assert order.amount_fen == 9000 and reader.points_balance == 100 + 90

    half = orders.open_refund(order, 4500, "一半")
    orders.settle_refund(half.out_refund_no, "SUCCESS", "r1", None, True)
    db.session.commit()
    db.session.refresh(reader)
    assert reader.points_balance == 190 + 450 - 45
    rest = orders.open_refund(order, 4500, "其余")
    orders.settle_refund(rest.out_refund_no, "SUCCESS", "r2", None, True)
    db.session.commit()
    db.session.refresh(reader)
    assert reader.points_balance == 1000  # all 900 back, all 90 earned taken back
    assert sum(points for _, points, _ in _ledger(reader)) == 0


def test_taking_back_earned_points_already_spent_stops_at_zero(item):
    _rates(earn=1)
    reader = _reader_with(0)
    order = orders.place_order(reader, item, PayChannel.NATIVE, "1.2.3.4", TTL)
    db.session.commit()
    _paid(order)  # earned 99
    other = factories.product(price_fen=5000)
    db.session.commit()
    spender = orders.place_order(reader, other, PayChannel.NATIVE, "1.2.3.4", TTL, points_wanted=90)
    db.session.commit()
    refund = orders.open_refund(order, order.amount_fen, "退款")
    orders.settle_refund(refund.out_refund_no, "SUCCESS", "r", None, True)
    db.session.commit()
    db.session.refresh(reader)
    assert spender.points_spent == 90 and reader.points_balance == 0
    assert _ledger(reader)[-1] == (PointsKind.REVERSED, -9, 0)


def test_a_guest_merging_brings_their_points(app_ctx):
    guest, target = _reader_with(0), factories.reader(openid="o-merge")
    db.session.commit()
    points._change(db.session.connection(), guest.id, 70, PointsKind.EARNED, None)
    db.session.commit()
    identity._merge_guest_into(guest, target)
    db.session.commit()
    assert points.balance(target.id) == 70 and len(_ledger(target)) == 1


def test_concurrent_checkouts_never_spend_the_same_points_twice(app):
    with app.app_context():
        _rates(max_percent=100)
        items = [factories.product(price_fen=9900) for _ in range(4)]
        reader = _reader_with(1000)
        ids = [i.id for i in items], reader.id

    def place(index):
        return orders.place_order(
            db.session.get(Reader, ids[1]),
            db.session.get(Product, ids[0][index]),
            PayChannel.NATIVE,
            "1.2.3.4",
            TTL,
            points_wanted=600,
        )

    outcomes = _race(app, place, 4)
    assert sum(isinstance(o, int) for o in outcomes) == 1
    assert outcomes.count("points_insufficient") == 3
    with app.app_context():
        assert points.balance(ids[1]) == 400


@pytest.fixture
def points_shop(app):
    """¥99 item; earning 1 a yuan, 100 points a yuan off, at most half; a ¥10-off code."""
    with app.app_context():
        _rates(earn=1, per_yuan=100, max_percent=50)
        item = factories.product(title="写作课", price_fen=9900)
        factories.coupon(code="TENOFF")
        db.session.commit()
        return item.slug


def _signed_in_with(app, client, balance):
    with app.app_context():
        reader = _reader_with(balance)
        reader_id = reader.id
    sign_in_as(app, client, reader_id)
    return reader_id


def test_the_confirm_page_offers_the_points_and_pays_the_rest(app, points_shop):
    desktop = app.test_client()
    desktop.environ_base["HTTP_USER_AGENT"] = DESKTOP_UA
    reader_id = _signed_in_with(app, desktop, 2000)
    page = desktop.get(f"/p/{points_shop}/buy?coupon=TENOFF").get_data(as_text=True)
    assert "用 2000 积分抵扣 ¥20" in page and "data-use-points" in page

    page = desktop.get(f"/p/{points_shop}/buy?coupon=TENOFF&points=2000").get_data(as_text=True)
    assert "积分抵扣（2000 积分）" in page and "微信扫码支付 ¥69" in page
    response = desktop.post(
        f"/p/{points_shop}/buy",
        data={
            "csrf_token": csrf_token_in(page),
            "price_fen": "6900",
            "coupon": "TENOFF",
            "points": "2000",
        },
    )
    assert response.status_code == 302
    order = latest_order(app)
    assert (order.amount_fen, order.points_spent) == (6900, 2000)
    pay_on_phone(app, order.code_url)
    deliver_due_notifications(app)
    with app.app_context():
        assert points.balance(reader_id) == 69  # 2000 spent, 69 earned on ¥69
    mine = desktop.get("/me/points").get_data(as_text=True)
    assert "data-points-balance>69<" in mine and "下单抵扣" in mine and "购买获得" in mine


def test_more_points_than_the_reader_has_are_refused_on_the_server(app, points_shop):
    desktop = app.test_client()
    desktop.environ_base["HTTP_USER_AGENT"] = DESKTOP_UA
    _signed_in_with(app, desktop, 100)
    page = desktop.get(f"/p/{points_shop}/buy").get_data(as_text=True)
    response = desktop.post(
        f"/p/{points_shop}/buy",
        data={"csrf_token": csrf_token_in(page), "price_fen": "9400", "points": "500"},
    )
    assert response.location.endswith(f"/p/{points_shop}/buy")
    assert "积分不足" in desktop.get(response.location).get_data(as_text=True)


def test_the_api_takes_points(app, client, points_shop):
    _signed_in_with(app, client, 1000)
    made = client.post(
        "/api/orders", json={"product": points_shop, "channel": "native", "points": 1000}
    )
    assert made.status_code == 201 and made.get_json()["amount_fen"] == 8900
    for value, code in [(-1, "bad_points"), ("10", "bad_points")]:
        refused = client.post(
            "/api/orders", json={"product": points_shop, "channel": "native", "points": value}
        )
        assert refused.status_code == 400 and refused.get_json()["error"]["code"] == code


def test_the_creator_sets_the_rates_and_sees_what_readers_hold(app, studio):
    with app.app_context():
        _reader_with(1234)
    page = studio.get("/studio/promotions").get_data(as_text=True)
    assert "<title>营销 · " in page and page.count("data-points-outstanding") == 1
    assert "data-points-outstanding>1234<" in page
    saved = studio.post(
        "/studio/promotions/points",
        data={
            "csrf_token": csrf_token_in(page),
            "earn_per_yuan": "5",
            "per_yuan": "200",
            "max_percent": "30",
        },
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "积分设置已保存" in saved
    with app.app_context():
        assert points.settings() == points.PointsSettings(5, 200, 30)
    refused = studio.post(
        "/studio/promotions/points",
        data={
            "csrf_token": csrf_token_in(page),
            "earn_per_yuan": "5",
            "per_yuan": "200",
            "max_percent": "300",
        },
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "积分设置没有保存" in refused
