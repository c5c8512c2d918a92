"""The price rule and the coupon's reasons, directly: lines, totals, and each refusal."""

from datetime import timedelta

import pytest

from app.extensions import db
from app.models import CouponKind, PayChannel
from app.models.base import utcnow
from app.payments import orders
from app.pricing import coupons, offers, rule
from app.pricing.refusals import CouponRefused
from tests import factories

TTL = timedelta(hours=2)


@pytest.fixture
def item(app_ctx):
    product = factories.product(price_fen=9900)
    db.session.commit()
    return product


def test_the_list_price_alone(item):
    price = rule.quote(item, None)
    assert [(line.kind, line.fen) for line in price.lines] == [("list", 9900)]
    assert price.total_fen == price.list_price_fen == 9900


def test_a_running_offer_replaces_the_price_and_only_while_it_runs(item):
    now = utcnow()
    offers.create(item, 6900, now - timedelta(hours=1), now + timedelta(hours=1))
    assert rule.quote(item, None, now=now).total_fen == 6900
    assert rule.quote(item, None, now=now).line("offer").fen == -3000
    assert rule.quote(item, None, now=now + timedelta(hours=2)).total_fen == 9900
    assert rule.quote(item, None, now=now - timedelta(hours=2)).total_fen == 9900


def test_offers_must_be_cheaper_in_the_future_and_not_overlap(item):
    now = utcnow()
    with pytest.raises(offers.OfferRefused, match="低于原价"):
        offers.create(item, 9900, now, now + timedelta(days=1))
    with pytest.raises(offers.OfferRefused, match="已经过去"):
        offers.create(item, 5000, now - timedelta(days=2), now - timedelta(days=1))
    offers.create(item, 5000, now, now + timedelta(days=2))
    with pytest.raises(offers.OfferRefused, match="另一个"):
        offers.create(item, 4000, now + timedelta(days=1), now + timedelta(days=3))


def test_a_coupon_applies_after_the_offer_and_its_minimum_is_on_that_price(item):
    now = utcnow()
    offers.create(item, 6900, now - timedelta(hours=1), now + timedelta(hours=1))
    factories.coupon(code="TENOFF", amount_off_fen=1000, min_spend_fen=5000)
    price = rule.quote(item, None, coupon_code=" tenoff ", now=now)
    assert [(line.kind, line.fen) for line in price.lines] == [
        ("list", 9900),
        ("offer", -3000),
        ("coupon", -1000),
    ]
    assert price.total_fen == 5900 and price.coupon.code == "TENOFF"
    factories.coupon(code="BIGSPEND", amount_off_fen=1000, min_spend_fen=8000)
    with pytest.raises(CouponRefused) as refused:
        rule.quote(item, None, coupon_code="BIGSPEND", now=now)
    assert refused.value.code == "coupon_min_spend" and "¥80" in refused.value.message


def test_percentages_round_the_discount_down_and_never_go_below_zero(item):
    factories.coupon(code="PCT15", kind=CouponKind.PERCENT, percent_off=15)
    item.price_fen = 999
    db.session.commit()
    assert rule.quote(item, None, coupon_code="PCT15").total_fen == 999 - 149  # 149.85 off
    factories.coupon(code="HUGE", amount_off_fen=100000)
    assert rule.quote(item, None, coupon_code="HUGE").total_fen == 0


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"ends_at": "past"}, "coupon_expired"),
        ({"starts_at": "future"}, "coupon_not_started"),
        ({"product_ids": "other"}, "coupon_not_for_item"),
        ({"min_spend_fen": 10000}, "coupon_min_spend"),
    ],
)
def test_each_reason_a_coupon_does_not_apply(item, fields, code):
    now = utcnow()
    values = {
        "past": now - timedelta(minutes=1),
        "future": now + timedelta(days=1),
    }
    if fields.get("product_ids") == "other":
        other = factories.product(price_fen=500)
        db.session.commit()
        fields = {"product_ids": (other.id,)}
    fields = {key: values.get(value, value) for key, value in fields.items()}
    factories.coupon(code="WHY1", **fields)
    with pytest.raises(CouponRefused) as refused:
        rule.quote(item, None, coupon_code="WHY1", now=now)
    assert refused.value.code == code and refused.value.message


def test_unknown_and_disabled_codes(item):
    with pytest.raises(CouponRefused, match="没有这个优惠码") as refused:
        rule.quote(item, None, coupon_code="NOSUCH")
    assert refused.value.code == "coupon_unknown"
    with pytest.raises(CouponRefused):
        rule.quote(item, None, coupon_code="<script>")
    made = factories.coupon(code="GONE")
    coupons.disable(made)
    db.session.commit()
    with pytest.raises(CouponRefused) as refused:
        rule.quote(item, None, coupon_code="GONE")
    assert refused.value.code == "coupon_disabled"


def test_a_coupon_for_chosen_items_applies_to_them(item):
    factories.coupon(code="ONLYTHIS", product_ids=(item.id,))
    assert rule.quote(item, None, coupon_code="ONLYTHIS").total_fen == 8900


def test_a_used_up_coupon_and_a_reader_who_used_theirs(item):
    reader = factories.reader()
    db.session.commit()
    factories.coupon(code="ONCE", total_limit=5, per_reader_limit=1)
    order = orders.place_order(reader, item, PayChannel.NATIVE, "1.2.3.4", TTL, coupon_code="ONCE")
    db.session.commit()
    # The reader's own open order holds the use: buying the same item again may reuse it.
    assert rule.quote(item, reader.id, coupon_code="ONCE").total_fen == 8900
    other = factories.product(price_fen=5000)
    db.session.commit()
    with pytest.raises(CouponRefused, match="未支付的订单") as refused:
        rule.quote(other, reader.id, coupon_code="ONCE")
    assert refused.value.code == "coupon_reader_limit"
    orders.confirm_payment(
        order.out_trade_no,
        transaction_id="4200000000000000000000000001",
        amount_fen=8900,
        payer_openid=None,
        paid_at=utcnow(),
        source="test",
    )
    db.session.commit()
    with pytest.raises(CouponRefused, match="已经用过"):
        rule.quote(other, reader.id, coupon_code="ONCE")


def test_coupons_are_described_as_readers_say_them(app_ctx):
    def made(code, **fields):
        return factories.coupon(code=code, **fields)

    assert coupons.describe(made("AAAA1", amount_off_fen=1000)) == "减 ¥10"
    assert coupons.describe(made("AAAA2", kind=CouponKind.PERCENT, percent_off=20)) == "8 折"
    assert coupons.describe(made("AAAA3", kind=CouponKind.PERCENT, percent_off=15)) == "8.5 折"
    assert coupons.describe(made("AAAA4", kind=CouponKind.PERCENT, percent_off=100)) == "免费"
    assert coupons.describe(made("AAAA5", amount_off_fen=500, min_spend_fen=5000)) == "满 ¥50 减 ¥5"


def test_invalid_coupons_are_refused_with_a_reason(app_ctx):
    for draft, message in [
        (coupons.CouponDraft(kind=CouponKind.AMOUNT, amount_off_fen=0), "立减金额"),
        (coupons.CouponDraft(kind=CouponKind.PERCENT, percent_off=101), "折扣"),
        (coupons.CouponDraft(kind=CouponKind.AMOUNT, amount_off_fen=1, code="a!"), "4 到 20"),
        (coupons.CouponDraft(kind=CouponKind.AMOUNT, amount_off_fen=1, total_limit=0), "总数量"),
    ]:
        with pytest.raises(coupons.CouponInvalid, match=message):
            coupons.create(draft)
    coupons.create(coupons.CouponDraft(kind=CouponKind.AMOUNT, amount_off_fen=1, code="SAME"))
    with pytest.raises(coupons.CouponInvalid, match="已经存在"):
        coupons.create(coupons.CouponDraft(kind=CouponKind.AMOUNT, amount_off_fen=1, code="same"))


def test_a_batch_of_one_off_codes(app_ctx):
    made = coupons.create(
        coupons.CouponDraft(kind=CouponKind.AMOUNT, amount_off_fen=500, total_limit=1), count=50
    )
    codes = {coupon.code for coupon in made}
    assert len(codes) == 50
    assert all(len(code) == 8 and not set(code) & set("01OI") for code in codes)
