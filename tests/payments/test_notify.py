"""POST /pay/wechat/notify: believe only what is signed, ours, and exactly the order's amount."""

import threading

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.extensions import db
from app.models import Entitlement, Order, OrderStatus, PaymentEvent, Reader
from tests.payments.helpers import (
    PAYER,
    new_transaction_id,
    payment_notification,
    pending_order,
    post_notification,
)

SUCCESS = "<return_code><![CDATA[SUCCESS]]></return_code>"
FAIL = "<return_code><![CDATA[FAIL]]></return_code>"


def _order(app, out_trade_no):
    with app.app_context():
        return db.session.scalar(sa.select(Order).where(Order.out_trade_no == out_trade_no))


def _entitlements(app, product_id):
    with app.app_context():
        return db.session.scalars(
            sa.select(Entitlement).where(Entitlement.product_id == product_id)
        ).all()


def test_a_valid_notification_pays_and_fulfils_once(app, client):
    no, ids = pending_order(app, price_fen=1990)
    body = payment_notification(app, no, 1990)

    status, answer = post_notification(client, body)
    assert status == 200 and SUCCESS in answer
    order = _order(app, no)
    assert order.status is OrderStatus.PAID
    assert order.payer_openid == PAYER and order.transaction_id
    granted = _entitlements(app, ids["product"])
    # The desktop guest who ordered, and the WeChat account that paid.
    assert {e.reader_id for e in granted} >= {ids["reader"]}
    assert len(granted) == 2
    with app.app_context():
        payer = db.session.scalar(sa.select(Reader).where(Reader.openid == PAYER))
        assert payer.id in {e.reader_id for e in granted}

    # WeChat repeats itself: SUCCESS again, nothing more happens.
    status, answer = post_notification(client, body)
    assert SUCCESS in answer
    assert len(_entitlements(app, ids["product"])) == 2


def test_the_payer_is_the_reader_inside_wechat(app, client):
    no, ids = pending_order(app, reader_openid=PAYER)
    post_notification(client, payment_notification(app, no, 990))
    granted = _entitlements(app, ids["product"])
    assert [e.reader_id for e in granted] == [ids["reader"]]


def test_a_wrong_amount_is_never_paid(app, client, caplog):
    no, ids = pending_order(app, price_fen=1990)
    status, answer = post_notification(client, payment_notification(app, no, 1))
    assert status == 200 and FAIL in answer
    assert _order(app, no).status is OrderStatus.PENDING
    assert _entitlements(app, ids["product"]) == []
    assert "ALERT amount mismatch" in caplog.text
    with app.app_context():
        kinds = db.session.scalars(sa.select(PaymentEvent.kind)).all()
        assert "payment_rejected" in kinds


@pytest.mark.parametrize(
    "change",
    [
        {"key": "0" * 32},  # signed with someone else's key
        {"appid": "wx0000000000000000"},  # another merchant's app
        {"mch_id": "1234567890"},  # another merchant
        {"return_code": "FAIL"},
    ],
)
def test_forged_or_foreign_notifications_are_refused(app, client, change):
    no, ids = pending_order(app)
    status, answer = post_notification(client, payment_notification(app, no, 990, **change))
    assert status == 200 and FAIL in answer
    assert _order(app, no).status is OrderStatus.PENDING
    assert _entitlements(app, ids["product"]) == []


def test_tampering_after_signing_is_refused(app, client):
    no, _ = pending_order(app, price_fen=1990)
    body = payment_notification(app, no, 1).replace(b"<total_fee>1<", b"<total_fee>1990<")
    _, answer = post_notification(client, body)
    assert FAIL in answer
    assert _order(app, no).status is OrderStatus.PENDING


def test_unknown_order_is_answered_fail(app, client):
    status, answer = post_notification(client, payment_notification(app, "20260101000000nope", 990))
    assert status == 200 and FAIL in answer


def test_a_failed_payment_changes_nothing(app, client):
    no, _ = pending_order(app)
    body = payment_notification(app, no, 990, result_code="FAIL")
    assert SUCCESS in post_notification(client, body)[1]
    assert _order(app, no).status is OrderStatus.PENDING


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not xml at all",
        b"<xml><return_code>SUCCESS</return_code>",
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">'
        b'<!ENTITY c "&b;&b;&b;&b;">]><xml><return_code>&c;</return_code></xml>',
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        b"<xml><out_trade_no>&e;</out_trade_no></xml>",
        b"<xml>" + b"<a>1</a>" * 20000 + b"</xml>",
    ],
    ids=["empty", "text", "unclosed", "entity-bomb", "external-entity", "huge"],
)
def test_malformed_and_hostile_bodies_get_fail_not_a_crash(client, body):
    status, answer = post_notification(client, body)
    assert status == 200 and FAIL in answer


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=st.one_of(st.binary(max_size=2000), st.text(max_size=2000).map(str.encode)))
def test_random_bodies_never_crash_either_endpoint(client, body):
    for path in ("/pay/wechat/notify", "/pay/wechat/refund-notify"):
        response = client.post(path, data=body)
        assert response.status_code == 200
        assert FAIL in response.get_data(as_text=True)


def test_a_closed_order_that_wechat_says_is_paid_is_honoured(app, client):
    from app.payments import orders

    no, ids = pending_order(app)
    with app.app_context():
        orders.close(orders.find(no), "expired")
        db.session.commit()
    assert SUCCESS in post_notification(client, payment_notification(app, no, 990))[1]
    assert _order(app, no).status is OrderStatus.PAID
    assert _entitlements(app, ids["product"])


def test_twenty_concurrent_duplicates_make_one_transition(app):
    """WeChat may send the same notification from several servers within seconds."""
    no, ids = pending_order(app, price_fen=2990)
    body = payment_notification(app, no, 2990, transaction_id=new_transaction_id())
    answers, barrier = [], threading.Barrier(20)

    def deliver():
        client = app.test_client()
        barrier.wait()
        answers.append(post_notification(client, body))

    threads = [threading.Thread(target=deliver) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [status for status, _ in answers] == [200] * 20
    assert all(SUCCESS in answer for _, answer in answers), answers
    with app.app_context():
        paid_events = db.session.scalar(
            sa.select(sa.func.count(PaymentEvent.id)).where(PaymentEvent.kind == "paid")
        )
        assert paid_events == 1
    assert len(_entitlements(app, ids["product"])) == 2  # ordering guest + paying WeChat user
