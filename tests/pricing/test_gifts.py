"""请朋友读: an item bought for a friend, claimed once by whoever opens the link first; a
buyer's one free read of an article passed on; refunds of unclaimed gifts only."""

import re
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Entitlement, EntitlementSource, Gift, OrderStatus, PayChannel, Reader
from app.payments import orders
from app.pricing import gifts
from app.sandbox.notify import deliver_due_notifications
from app.transactions import begin_write
from tests import factories
from tests.conftest import sign_in_as
from tests.payflow import DESKTOP_UA, csrf_token_in, latest_order, pay_on_phone
from tests.pricing.helpers import pay

TTL = timedelta(hours=2)


def _paid(order):
    assert pay(order, payer_openid="o-payer-" + order.out_trade_no[-6:])


def _owners(product_id):
    return set(
        db.session.scalars(
            sa.select(Entitlement.reader_id).where(Entitlement.product_id == product_id)
        )
    )


@pytest.fixture
def item(app_ctx):
    product = factories.product(price_fen=9900)
    db.session.commit()
    return product


def test_a_paid_gift_makes_a_link_and_gives_the_buyer_nothing(item):
    buyer = factories.reader()
    order = orders.place_order(buyer, item, PayChannel.NATIVE, "1.2.3.4", TTL, as_gift=True)
    db.session.commit()
    _paid(order)
    gift = gifts.for_order(order.id)
    assert gift is not None and gift.giver_id == buyer.id and len(gift.token) >= 32
    assert _owners(item.id) == set()  # neither the buyer nor the WeChat account that paid


def test_the_first_friend_claims_it_and_the_next_is_told(item):
    buyer, friend, late = factories.reader(), factories.reader(), factories.reader()
    order = orders.place_order(buyer, item, PayChannel.NATIVE, "1.2.3.4", TTL, as_gift=True)
    db.session.commit()
    _paid(order)
    gift = gifts.for_order(order.id)
    with pytest.raises(gifts.GiftRefused, match="你送出的礼物"):
        gifts.claim(gift, buyer)
    gifts.claim(gift, friend)
    db.session.commit()
    assert _owners(item.id) == {friend.id}
    source = db.session.scalar(
        sa.select(Entitlement.source).where(Entitlement.reader_id == friend.id)
    )
    assert source is EntitlementSource.GIFT and gift.claimed_at is not None
    with pytest.raises(gifts.GiftRefused, match="已经被领取"):
        gifts.claim(gift, late)


def test_a_friend_who_owns_it_leaves_it_for_another(item):
    buyer, owner = factories.reader(), factories.reader()
    factories.give(owner, item)
    order = orders.place_order(buyer, item, PayChannel.NATIVE, "1.2.3.4", TTL, as_gift=True)
    db.session.commit()
    _paid(order)
    gift = gifts.for_order(order.id)
    with pytest.raises(gifts.GiftRefused, match="已经拥有"):
        gifts.claim(gift, owner)
    assert gift.claimed_by is None


def test_an_owner_may_buy_gifts_and_several_at_once(item):
    buyer = factories.reader()
    factories.give(buyer, item)
    first = orders.place_order(buyer, item, PayChannel.NATIVE, "1.2.3.4", TTL, as_gift=True)
    again = orders.place_order(buyer, item, PayChannel.NATIVE, "1.2.3.4", TTL, as_gift=True)
    db.session.commit()
    assert first.id == again.id  # a double click
    _paid(first)
    second = orders.place_order(buyer, item, PayChannel.NATIVE, "1.2.3.4", TTL, as_gift=True)
    db.session.commit()
    assert second.id != first.id


def test_an_unclaimed_gift_may_be_refunded_and_then_cannot_be_claimed(item):
    buyer, friend = factories.reader(), factories.reader()
    order = orders.place_order(buyer, item, PayChannel.NATIVE, "1.2.3.4", TTL, as_gift=True)
    db.session.commit()
    _paid(order)
    refund = orders.open_refund(order, order.amount_fen, "朋友已经买了")
    orders.settle_refund(refund.out_refund_no, "SUCCESS", "r", None, True)
    db.session.commit()
    gift = gifts.for_order(order.id)
    db.session.refresh(gift)
    assert order.status is OrderStatus.REFUNDED and gift.voided_at is not None
    with pytest.raises(gifts.GiftRefused, match="退回"):
        gifts.claim(gift, friend)


def test_a_claimed_gift_cannot_be_refunded(item):
    buyer, friend = factories.reader(), factories.reader()
    order = orders.place_order(buyer, item, PayChannel.NATIVE, "1.2.3.4", TTL, as_gift=True)
    db.session.commit()
    _paid(order)
    gifts.claim(gifts.for_order(order.id), friend)
    db.session.commit()
    with pytest.raises(orders.RefundNotAllowed, match="已被领取"):
        orders.open_refund(order, 100, "想退")


def test_two_friends_pressing_at_once_one_gets_it(app):
    with app.app_context():
        product = factories.product(price_fen=9900)
        buyer = factories.reader()
        friends = [factories.reader() for _ in range(4)]
        order = orders.place_order(buyer, product, PayChannel.NATIVE, "1.2.3.4", TTL, as_gift=True)
        db.session.commit()
        _paid(order)
        token, friend_ids, product_id = (
            gifts.for_order(order.id).token,
            [f.id for f in friends],
            product.id,
        )
    outcomes, barrier = [], threading.Barrier(4)

    def press(index):
        with app.app_context():
            barrier.wait()
            try:
                begin_write()
                gifts.claim(gifts.find(token), db.session.get(Reader, friend_ids[index]))
                db.session.commit()
                outcomes.append("claimed")
            except gifts.GiftRefused as refused:
                db.session.rollback()
                outcomes.append(refused.code)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=press, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("claimed") == 1 and outcomes.count("gift_claimed") == 3
    with app.app_context():
        assert len(_owners(product_id)) == 1


def test_a_buyer_passes_on_one_free_read_where_the_creator_allows_it(item):
    buyer, friend = factories.reader(openid="o-buyer"), factories.reader()
    with pytest.raises(gifts.GiftRefused, match="没有为这篇内容开放"):
        gifts.shared_read(buyer, item)
    item.buyers_share_a_read = True
    with pytest.raises(gifts.GiftRefused, match="买过"):
        gifts.shared_read(buyer, item)
    factories.give(buyer, item)
    first = gifts.shared_read(buyer, item)
    assert gifts.shared_read(buyer, item).id == first.id  # one per buyer and article
    gifts.claim(first, friend)
    db.session.commit()
    assert friend.id in _owners(item.id) and first.order_id is None


def test_buying_a_gift_on_the_web_and_a_friend_claiming_it(app):
    with app.app_context():
        product = factories.product(title="送人的课", price_fen=9900)
        db.session.commit()
        slug = product.slug
    buyer = app.test_client()
    buyer.environ_base["HTTP_USER_AGENT"] = DESKTOP_UA
    item_page = buyer.get(f"/p/{slug}").get_data(as_text=True)
    assert f"/p/{slug}/buy?gift=1" in item_page
    page = buyer.get(f"/p/{slug}/buy?gift=1").get_data(as_text=True)
    assert "data-gift-note" in page and 'name="gift" value="1"' in page
    buyer.post(
        f"/p/{slug}/buy", data={"csrf_token": csrf_token_in(page), "price_fen": "9900", "gift": "1"}
    )
    order = latest_order(app)
    assert order.is_gift
    pay_on_phone(app, order.code_url)
    deliver_due_notifications(app)

    landing = buyer.get(f"/orders/{order.out_trade_no}")
    assert landing.status_code == 302 and "/gift/" in landing.location
    sent = buyer.get(landing.location).get_data(as_text=True)
    link = re.search(r'id="gift-link" type="text" value="([^"]+)"', sent).group(1)
    assert 'data-gift-state="waiting"' in sent
    assert "付费正文" not in buyer.get(f"/p/{slug}/read").get_data(as_text=True)

    friend = app.test_client()
    friend.environ_base["HTTP_USER_AGENT"] = DESKTOP_UA
    path = link.split("localhost", 1)[-1]
    claim_page = friend.get(path).get_data(as_text=True)
    assert "送你一份内容" in claim_page and "data-claim" in claim_page
    claimed = friend.post(path, data={"csrf_token": csrf_token_in(claim_page)})
    assert claimed.location.endswith(f"/p/{slug}/read")
    assert factories.PAID_SECRET in friend.get(f"/p/{slug}/read").get_data(as_text=True)
    assert 'data-gift-state="claimed"' in buyer.get(path).get_data(as_text=True)
    stranger = app.test_client().get(path).get_data(as_text=True)
    assert 'data-gift-state="claimed"' in stranger


def test_the_shared_read_on_the_web(app):
    with app.app_context():
        product = factories.product(price_fen=990)
        product.buyers_share_a_read = True
        reader = factories.reader(openid="o-sharer")
        factories.give(reader, product)
        db.session.commit()
        slug, reader_id = product.slug, reader.id
    buyer = app.test_client()
    sign_in_as(app, buyer, reader_id)
    assert f"/p/{slug}/share-read" in buyer.get(f"/p/{slug}").get_data(as_text=True)
    page = buyer.get(f"/p/{slug}/share-read").get_data(as_text=True)
    made = buyer.post(f"/p/{slug}/share-read", data={"csrf_token": csrf_token_in(page)})
    assert "/gift/" in made.location
    again = buyer.post(f"/p/{slug}/share-read", data={"csrf_token": csrf_token_in(page)})
    assert again.location == made.location
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Gift)) == 1


def test_the_api_buys_a_gift(app, client):
    with app.app_context():
        slug = factories.product(price_fen=990).slug
        db.session.commit()
    made = client.post("/api/orders", json={"product": slug, "channel": "native", "gift": True})
    assert made.status_code == 201
    assert latest_order(app, made.get_json()["out_trade_no"]).is_gift
    bad = client.post("/api/orders", json={"product": slug, "channel": "native", "gift": "yes"})
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "bad_gift"
