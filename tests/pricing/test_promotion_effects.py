"""营销效果 on the dashboard: what discounts took off, coupon use, offer lift, points, and how
readers pay for 随心付 items against the suggestion."""

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from flask import current_app

from app.analytics import promotions, rollups
from app.analytics.stats import DateRange
from app.extensions import db
from app.models import PayChannel, ProductKind
from app.models.base import utcnow
from app.payments import orders
from app.pricing import offers, points
from tests import factories
from tests.pricing.test_points import _paid, _rates, _reader_with

TTL = timedelta(hours=2)


def test_discounts_are_summed_per_kind_from_the_orders_lines():
    lines = [
        [{"kind": "list", "fen": 9900}, {"kind": "offer", "fen": -2000}],
        [
            {"kind": "list", "fen": 9900},
            {"kind": "coupon", "fen": -1000},
            {"kind": "points", "fen": -300},
        ],
        [{"kind": "chosen", "fen": 500}],
    ]
    table = promotions.discounts_by_kind(lines).set_index("kind")
    assert table.loc["offer", "fen"] == 2000 and table.loc["coupon", "orders"] == 1
    assert table.loc["points", "fen"] == 300 and list(table.index) == [
        "offer",
        "member",
        "coupon",
        "points",
    ]
    assert promotions.discounts_by_kind([])["fen"].sum() == 0


def test_offer_lift_compares_orders_a_day_and_says_nothing_without_a_before():
    lift = promotions.offer_lift(pd.Series([3.0, 2.0, 1.0]), pd.Series([2.0, 2.0, 0.0]))
    assert lift[0] == 0.5 and lift[1] == 0.0 and np.isnan(lift[2])


def test_chosen_amounts_are_bucketed_against_the_suggestion():
    paid = pd.DataFrame(
        {
            "title": ["随心付"] * 5,
            "suggested_fen": [3000] * 5,
            "amount_fen": [1000, 2000, 3000, 3000, 5000],
        }
    )
    [row] = promotions.chosen_amounts(paid).to_dict("records")
    assert row["orders"] == 5 and row["median_fen"] == 3000
    assert [row[b] for b in promotions.CHOSEN_BUCKETS] == [1, 1, 2, 1]


def test_the_dashboard_shows_what_the_promotions_did(app, studio):
    with app.app_context():
        _rates(earn=1, per_yuan=100, max_percent=50)
        item = factories.product(title="写作课", price_fen=9900)
        now = utcnow()
        offers.create(item, 6900, now - timedelta(hours=1), now + timedelta(days=1))
        factories.coupon(code="TENOFF", name="老读者专享")
        reader = _reader_with(500)
        order = orders.place_order(
            reader,
            item,
            PayChannel.NATIVE,
            "1.2.3.4",
            TTL,
            coupon_code="TENOFF",
            points_wanted=500,
        )
        db.session.commit()
        _paid(order)  # ¥99 - ¥30 - ¥10 - ¥5 = ¥54
        chosen = factories.product(title="随心付的文章", price_fen=3000)
        chosen.pay_what_you_want = True
        db.session.commit()
        for amount in (1000, 3000, 6000):
            _paid(
                orders.place_order(
                    factories.reader(), chosen, PayChannel.NATIVE, "1.2.3.4", TTL, chosen_fen=amount
                )
            )
        gift_order = orders.place_order(
            factories.reader(), item, PayChannel.NATIVE, "1.2.3.4", TTL, as_gift=True
        )
        db.session.commit()
        _paid(gift_order)
        plan = factories.product(ProductKind.MEMBERSHIP, title="月度会员", price_fen=3000)
        plan.membership_days = 30
        db.session.commit()
        _paid(orders.place_order(factories.reader(), plan, PayChannel.NATIVE, "1.2.3.4", TTL))
        outstanding = points.outstanding()

    page = studio.get("/studio/?range=7").get_data(as_text=True)
    section = re.search(r"data-promotions>(.*?)</section>", page, re.S).group(1)
    assert "data-discount-total>¥75<" in section  # and the gift's ¥30 off at the offer
    assert "送出 1 份，被领取 0 份" in section
    assert "会员：本期收入 ¥30，当前有效会员 1 人" in section
    assert "<code>TENOFF</code> 老读者专享" in section
    assert f"data-points-outstanding>{outstanding}<" in section
    offers_table = re.search(r'data-table="offers">(.*?)</table>', section, re.S).group(1)
    assert "写作课" in offers_table and "¥69" in offers_table
    chosen_table = re.search(r'data-table="chosen">(.*?)</table>', section, re.S).group(1)
    assert "随心付的文章" in chosen_table and "¥30" in chosen_table


def test_each_kind_of_discount_is_found_on_its_own(app_ctx):
    # Each kind of discount alone, beside orders the count must leave out: one without a
    # discount, and one with a coupon that was never paid.
    _rates(earn=0, per_yuan=100, max_percent=50)
    plain = factories.product(title="原价文章", price_fen=9900)
    on_offer = factories.product(title="限时优惠的文章", price_fen=9900)
    member_priced = factories.product(title="会员价的文章", price_fen=9900)
    member_priced.member_price_fen = 4900
    plan = factories.product(ProductKind.MEMBERSHIP, title="月度会员", price_fen=3000)
    plan.membership_days = 30
    db.session.commit()
    now = utcnow()
    offers.create(on_offer, 6900, now - timedelta(hours=1), now + timedelta(days=1))
    factories.coupon(code="TENOFF")
    member = factories.reader()

    def buy(reader, item, **price):
        order = orders.place_order(reader, item, PayChannel.NATIVE, "1.2.3.4", TTL, **price)
        db.session.commit()
        _paid(order)

    buy(factories.reader(), plain)  # no discount
    buy(factories.reader(), on_offer)
    buy(factories.reader(), plain, coupon_code="TENOFF")
    buy(_reader_with(500), plain, points_wanted=500)
    buy(member, plan)
    buy(member, member_priced)
    unpaid = orders.place_order(
        factories.reader(), plain, PayChannel.NATIVE, "1.2.3.4", TTL, coupon_code="TENOFF"
    )
    db.session.commit()
    assert unpaid.coupon_id is not None

    timezone = current_app.config["SHOP_TIMEZONE"]
    rollups.ensure_current(timezone, timedelta(0))
    today = now.astimezone(ZoneInfo(timezone)).date()
    found = promotions.effects(DateRange(today - timedelta(days=6), today), timezone)
    assert (found.discounted_orders, found.paid_orders) == (4, 6)
    table = found.discounts.set_index("kind")
    assert table["orders"].to_dict() == {"offer": 1, "member": 1, "coupon": 1, "points": 1}
    assert found.coupons["uses"].sum() == 1
    assert table["fen"].to_dict() == {"offer": 3000, "member": 5000, "coupon": 1000, "points": 500}
