"""随心付: the reader chooses the amount, at least the creator's minimum; checked on the server."""

import re
from datetime import timedelta

import pytest

from app.extensions import db
from app.models import Order, OrderStatus, PayChannel
from app.models.base import utcnow
from app.money import MAX_CHOSEN_FEN
from app.payments import orders
from app.pricing import offers, rule
from app.pricing.refusals import CouponRefused, PriceRefused
from app.sandbox.notify import deliver_due_notifications
from tests import factories
from tests.payflow import DESKTOP_UA, csrf_token_in, latest_order, pay_on_phone

TTL = timedelta(hours=2)


def _pwyw(suggested=3000, minimum=500):
    item = factories.product(title="随心付的文章", price_fen=suggested)
    item.pay_what_you_want, item.min_price_fen = True, minimum
    db.session.commit()
    return item


def test_the_suggested_amount_unless_another_is_chosen(app_ctx):
    item = _pwyw()
    assert [(line.kind, line.fen) for line in rule.quote(item, None).lines] == [("chosen", 3000)]
    assert rule.quote(item, None, amount_fen=800).total_fen == 800
    assert rule.quote(item, None, amount_fen=9900).total_fen == 9900


@pytest.mark.parametrize(
    ("amount", "code"), [(499, "amount_too_low"), (MAX_CHOSEN_FEN + 1, "amount_too_high")]
)
def test_amounts_outside_the_bounds_are_refused(app_ctx, amount, code):
    item = _pwyw()
    with pytest.raises(PriceRefused) as refused:
        rule.quote(item, None, amount_fen=amount)
    assert refused.value.code == code and refused.value.message


def test_no_coupon_on_a_chosen_price_and_no_chosen_price_on_a_fixed_one(app_ctx):
    item = _pwyw()
    with pytest.raises(CouponRefused):
        rule.quote(item, None, coupon_code="ANYCODE")
    fixed = factories.product(price_fen=990)
    with pytest.raises(PriceRefused) as refused:
        rule.quote(fixed, None, amount_fen=100)
    assert refused.value.code == "amount_not_allowed"


def test_no_offer_on_a_chosen_price(app_ctx):
    item = _pwyw()
    now = utcnow()
    with pytest.raises(offers.OfferRefused, match="随心付"):
        offers.create(item, 1000, now, now + timedelta(days=1))


def test_a_minimum_of_zero_lets_a_reader_take_it_for_nothing(app_ctx):
    item = _pwyw(minimum=0)
    reader = factories.reader()
    order = orders.place_order(reader, item, PayChannel.NATIVE, "1.2.3.4", TTL, chosen_fen=0)
    db.session.commit()
    assert order.status is OrderStatus.PAID and order.channel is PayChannel.NONE


def test_another_amount_replaces_the_open_order(app_ctx):
    item = _pwyw()
    reader = factories.reader()
    first = orders.place_order(reader, item, PayChannel.NATIVE, "1.2.3.4", TTL, chosen_fen=800)
    again = orders.place_order(reader, item, PayChannel.NATIVE, "1.2.3.4", TTL, chosen_fen=800)
    more = orders.place_order(reader, item, PayChannel.NATIVE, "1.2.3.4", TTL, chosen_fen=1200)
    db.session.commit()
    assert again.id == first.id and more.id != first.id and more.amount_fen == 1200
    assert first.status is OrderStatus.CLOSED


@pytest.fixture
def item_slug(app):
    with app.app_context():
        return _pwyw().slug


def test_the_reader_chooses_on_the_confirm_page_and_pays_it(app, item_slug):
    desktop = app.test_client()
    desktop.environ_base["HTTP_USER_AGENT"] = DESKTOP_UA
    item_page = desktop.get(f"/p/{item_slug}").get_data(as_text=True)
    assert "随心付" in item_page and "建议 ¥30" in item_page

    page = desktop.get(f"/p/{item_slug}/buy").get_data(as_text=True)
    assert 'name="amount" value="30"' in page and "最少 ¥5" in page
    page = desktop.get(f"/p/{item_slug}/buy?amount=12.5").get_data(as_text=True)
    assert "微信扫码支付 ¥12.50" in page
    assert re.search(r'type="hidden" name="amount" value="12.50"', page)
    low = desktop.get(f"/p/{item_slug}/buy?amount=1").get_data(as_text=True)
    assert "最少支付 ¥5" in low and "微信扫码支付 ¥30" in low

    response = desktop.post(
        f"/p/{item_slug}/buy", data={"csrf_token": csrf_token_in(page), "amount": "12.5"}
    )
    assert response.status_code == 302
    order = latest_order(app)
    assert order.amount_fen == 1250 and order.price_lines[0]["kind"] == "chosen"
    pay_on_phone(app, order.code_url)
    deliver_due_notifications(app)
    assert latest_order(app, order.out_trade_no).status is OrderStatus.PAID


def test_a_forged_amount_below_the_minimum_is_refused_on_the_server(app, item_slug):
    desktop = app.test_client()
    desktop.environ_base["HTTP_USER_AGENT"] = DESKTOP_UA
    page = desktop.get(f"/p/{item_slug}/buy").get_data(as_text=True)
    response = desktop.post(
        f"/p/{item_slug}/buy", data={"csrf_token": csrf_token_in(page), "amount": "0.01"}
    )
    assert response.location.endswith(f"/p/{item_slug}/buy")
    assert "最少支付 ¥5" in desktop.get(response.location).get_data(as_text=True)
    with app.app_context():
        assert db.session.query(Order).count() == 0


def test_the_api_takes_the_amount(app, client, item_slug):
    made = client.post(
        "/api/orders", json={"product": item_slug, "channel": "native", "amount_fen": 777}
    )
    assert made.status_code == 201 and made.get_json()["amount_fen"] == 777
    for amount, code in [(1, "amount_too_low"), ("7", "bad_amount"), (7.5, "bad_amount")]:
        refused = client.post(
            "/api/orders", json={"product": item_slug, "channel": "native", "amount_fen": amount}
        )
        assert refused.status_code == 400 and refused.get_json()["error"]["code"] == code
