"""A coupon at checkout, the way readers and API clients use it, paid through the sandbox."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.catalog import queries
from app.extensions import db
from app.models import (
    CouponKind,
    CouponUse,
    CouponUseStatus,
    Entitlement,
    OrderStatus,
    PayChannel,
    Reader,
)
from app.models.base import utcnow
from app.payments import orders
from app.pricing import coupons, offers
from app.sandbox.notify import deliver_due_notifications
from tests import factories
from tests.payflow import DESKTOP_UA, csrf_token_in, latest_order, pay_on_phone


@pytest.fixture
def shop(app):
    """An article at ¥99 with an offer at ¥69 running, and a ¥10-off code."""
    with app.app_context():
        item = factories.product(title="写作课", price_fen=9900)
        now = utcnow()
        offers.create(item, 6900, now - timedelta(hours=1), now + timedelta(days=1))
        coupons.create(
            coupons.CouponDraft(kind=CouponKind.AMOUNT, amount_off_fen=1000, code="TENOFF")
        )
        coupons.create(
            coupons.CouponDraft(kind=CouponKind.PERCENT, percent_off=100, code="ALLFREE")
        )
        db.session.commit()
        return item.slug


@pytest.fixture
def desktop(app):
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = DESKTOP_UA
    return client


def _lines(page: str) -> list[tuple[str, str]]:
    block = re.search(r"data-price-lines>(.*?)</dl>", page, re.S).group(1)
    return re.findall(r"<dt>(.*?)</dt><dd[^>]*>(.*?)</dd>", block)


def test_the_confirm_page_shows_the_price_line_by_line(desktop, shop):
    page = desktop.get(f"/p/{shop}/buy").get_data(as_text=True)
    assert _lines(page) == [("原价", "¥99"), ("限时优惠", "-¥30"), ("应付", "¥69")]
    assert "data-offer-ends=" in page and "微信扫码支付 ¥69" in page

    page = desktop.get(f"/p/{shop}/buy?coupon=tenoff").get_data(as_text=True)
    assert _lines(page) == [
        ("原价", "¥99"),
        ("限时优惠", "-¥30"),
        ("优惠券 TENOFF", "-¥10"),
        ("应付", "¥59"),
    ]
    assert 'name="coupon" value="TENOFF"' in page and 'name="price_fen" value="5900"' in page


def test_a_coupon_that_does_not_apply_says_why_and_keeps_the_price(desktop, shop):
    page = desktop.get(f"/p/{shop}/buy?coupon=NOPE").get_data(as_text=True)
    assert "没有这个优惠码" in page and "data-price-refusal" in page
    assert _lines(page)[-1] == ("应付", "¥69")
    assert 'type="hidden" name="coupon"' not in page


def test_paying_with_a_coupon_pays_the_discounted_amount(app, desktop, shop):
    page = desktop.get(f"/p/{shop}/buy?coupon=TENOFF").get_data(as_text=True)
    response = desktop.post(
        f"/p/{shop}/buy",
        data={"csrf_token": csrf_token_in(page), "price_fen": "5900", "coupon": "TENOFF"},
    )
    assert response.status_code == 302
    order = latest_order(app)
    assert order.amount_fen == 5900 and order.list_price_fen == 9900
    assert "¥59" in desktop.get(f"/orders/{order.out_trade_no}").get_data(as_text=True)
    pay_on_phone(app, order.code_url)
    deliver_due_notifications(app)
    paid = latest_order(app, order.out_trade_no)
    assert paid.status is OrderStatus.PAID
    receipt = desktop.get(f"/orders/{order.out_trade_no}").get_data(as_text=True)
    assert "data-order-price-lines" in receipt and "优惠券 TENOFF" in receipt
    assert "只有买家才能看到的付费正文" in desktop.get(f"/p/{shop}/read").get_data(as_text=True)
    with app.app_context():
        assert coupons.find("TENOFF").used_count == 1


def test_a_coupon_for_everything_gives_access_without_paying(app, desktop, shop):
    page = desktop.get(f"/p/{shop}/buy?coupon=ALLFREE").get_data(as_text=True)
    assert "免费获取（已抵扣全部）" in page
    response = desktop.post(
        f"/p/{shop}/buy",
        data={"csrf_token": csrf_token_in(page), "price_fen": "0", "coupon": "ALLFREE"},
    )
    assert response.location.endswith(f"/p/{shop}/read")
    order = latest_order(app)
    assert order.status is OrderStatus.PAID and order.channel is PayChannel.NONE
    assert "只有买家才能看到的付费正文" in desktop.get(f"/p/{shop}/read").get_data(as_text=True)


def test_a_coupon_used_up_while_the_page_was_open(app, desktop, shop):
    with app.app_context():
        coupons.create(
            coupons.CouponDraft(
                kind=CouponKind.AMOUNT, amount_off_fen=500, code="LAST", total_limit=1
            )
        )
        db.session.commit()
    page = desktop.get(f"/p/{shop}/buy?coupon=LAST").get_data(as_text=True)
    other = app.test_client()
    other.environ_base["HTTP_USER_AGENT"] = DESKTOP_UA
    other_page = other.get(f"/p/{shop}/buy?coupon=LAST").get_data(as_text=True)
    other.post(
        f"/p/{shop}/buy",
        data={"csrf_token": csrf_token_in(other_page), "price_fen": "6400", "coupon": "LAST"},
    )
    response = desktop.post(
        f"/p/{shop}/buy",
        data={"csrf_token": csrf_token_in(page), "price_fen": "6400", "coupon": "LAST"},
    )
    assert response.location.endswith(f"/p/{shop}/buy")
    assert "已经被用完了" in desktop.get(response.location).get_data(as_text=True)


def test_the_api_takes_a_coupon_and_answers_the_price_after_it(app, client, shop):
    response = client.post(
        "/api/orders", json={"product": shop, "channel": "native", "coupon": "tenoff"}
    )
    assert response.status_code == 201
    assert response.get_json()["amount_fen"] == 5900

    for coupon, status, code in [
        ("NOPE", 400, "coupon_unknown"),
        (42, 400, "bad_coupon"),
    ]:
        refused = client.post(
            "/api/orders", json={"product": shop, "channel": "native", "coupon": coupon}
        )
        assert refused.status_code == status and refused.get_json()["error"]["code"] == code
    wrong = client.post(
        "/api/orders",
        json={"product": shop, "channel": "native", "coupon": "TENOFF", "price_fen": 6900},
    )
    assert wrong.status_code == 409 and wrong.get_json()["error"]["code"] == "price_changed"


def test_the_api_completes_an_order_brought_to_zero(app, client, shop):
    response = client.post(
        "/api/orders", json={"product": shop, "channel": "jsapi", "coupon": "ALLFREE"}
    )
    body = response.get_json()
    assert response.status_code == 201 and body["status"] == "paid" and body["amount_fen"] == 0
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Entitlement)) == 1


def test_a_guest_who_used_a_coupon_merges_into_their_wechat_reader(app, client, shop):
    """Bought with a code as a guest on a desktop, then signed in with WeChat: the order and
    its coupon use follow the person, and the code counts as used by them."""
    from tests.conftest import WeChatSignIn, sign_in_as

    wechat = WeChatSignIn(client)
    wechat.sign_in(nickname="小明")
    with app.app_context():
        openid = db.session.scalar(sa.select(Reader.openid).where(Reader.openid.is_not(None)))
        guest = factories.reader()
        db.session.commit()
        guest_id = guest.id
    desktop = app.test_client()
    desktop.environ_base["HTTP_USER_AGENT"] = DESKTOP_UA
    sign_in_as(app, desktop, guest_id)
    page = desktop.get(f"/p/{shop}/buy?coupon=TENOFF").get_data(as_text=True)
    desktop.post(
        f"/p/{shop}/buy",
        data={"csrf_token": csrf_token_in(page), "price_fen": "5900", "coupon": "TENOFF"},
    )
    order = latest_order(app)
    pay_on_phone(app, order.code_url)
    deliver_due_notifications(app)

    WeChatSignIn(desktop).sign_in(openid=openid)
    with app.app_context():
        assert db.session.get(Reader, guest_id) is None
        [use] = db.session.scalars(sa.select(CouponUse)).all()
        merged = db.session.scalar(sa.select(Reader).where(Reader.openid == openid))
        assert use.reader_id == merged.id and use.status is CouponUseStatus.KEPT
        other = factories.product(price_fen=5000)
        db.session.commit()
        other_slug = other.slug
    page = desktop.get(f"/p/{other_slug}/buy?coupon=TENOFF").get_data(as_text=True)
    assert "你已经用过这个优惠码了" in page


def test_the_studio_shows_the_price_an_order_was_made_at(app, studio, shop):
    with app.app_context():
        reader = factories.reader()
        order = orders.place_order(
            reader,
            queries.find_product(shop),
            PayChannel.NATIVE,
            "1.2.3.4",
            timedelta(hours=2),
            coupon_code="TENOFF",
        )
        db.session.commit()
        out_trade_no = order.out_trade_no
    page = studio.get(f"/studio/orders/{out_trade_no}").get_data(as_text=True)
    lines = re.search(r"data-order-price-lines>(.*?)</dl>", page, re.S).group(1)
    assert re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", lines) == [
        ("原价", "¥99"),
        ("限时优惠", "-¥30"),
        ("优惠券 TENOFF", "-¥10"),
        ("实付", "¥59"),
    ]
