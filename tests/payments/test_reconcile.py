"""Reconcile and the daily bill, both ways, through the sandbox; and answers that are not XML."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import OrderStatus, PaymentEvent, Refund, RefundStatus
from app.models.base import utcnow
from app.payments import orders
from app.payments.gateway import GatewayError, current_gateway
from app.sandbox.notify import deliver_due_notifications
from app.sandbox.pay_refunds import refund_from_merchant_platform
from app.transactions import begin_write
from tests.payflow import latest_order, pay_on_phone
from tests.payments.helpers import (
    bought_and_paid,
    payment_notification,
    pending_order,
    post_notification,
    wechat_answers,
)


def _today() -> str:
    return utcnow().astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d")


def test_reconcile_honours_a_payment_for_an_order_closed_here(app, runner):
    with app.app_context():
        from tests import factories

        slug = factories.product(price_fen=1990).slug
        db.session.commit()
    desktop = app.test_client()
    from tests.payflow import csrf_token_in

    page = desktop.get(f"/p/{slug}/buy").get_data(as_text=True)
    desktop.post(f"/p/{slug}/buy", data={"csrf_token": csrf_token_in(page)})
    order = latest_order(app)
    with app.app_context():  # closed here; the payer was still in WeChat's cashier
        begin_write()
        orders.close(orders.find(order.out_trade_no), "cancelled")
        db.session.commit()
    pay_on_phone(app, order.code_url)
    with app.app_context():  # ...and the payment notification was lost
        from app.sandbox.models import SandboxPayNotification

        db.session.execute(sa.delete(SandboxPayNotification))
        db.session.commit()

    result = runner.invoke(args=["orders", "reconcile"])
    assert result.exit_code == 0, result.output
    assert "已支付 1" in result.output
    assert latest_order(app, order.out_trade_no).status is OrderStatus.PAID


def test_the_bill_records_a_platform_refund_the_shop_lacks(app, runner):
    out_trade_no, _, _ = bought_and_paid(app)
    with app.app_context():  # made in 商户平台, its notification never arrived
        refund_from_merchant_platform(out_trade_no, 500, None, utcnow())

    first = runner.invoke(args=["orders", "bill", "--date", _today()])
    assert first.exit_code == 1
    assert "微信已退款 500 分" in first.output and "已补记" in first.output
    order = latest_order(app, out_trade_no)
    assert order.status is OrderStatus.PARTIALLY_REFUNDED and order.refunded_fen == 500

    again = runner.invoke(args=["orders", "bill", "--date", _today()])
    assert again.exit_code == 0, again.output
    assert "对账一致" in again.output


def test_the_bill_reports_payments_and_refunds_only_the_shop_has(app, client, runner):
    out_trade_no, _ = pending_order(app, price_fen=990)
    # A payment notification WeChat never sent (signed with a leaked key, say).
    post_notification(client, payment_notification(app, out_trade_no, 990, time_end=None))
    assert latest_order(app, out_trade_no).status is OrderStatus.PAID
    with app.app_context():
        begin_write()
        refund = orders.open_refund(orders.find(out_trade_no), 990, "")
        orders.settle_refund(refund.out_refund_no, "SUCCESS", "r", None, False)
        out_refund_no = refund.out_refund_no
        db.session.commit()

    result = runner.invoke(args=["orders", "bill", "--date", _today()])
    assert result.exit_code == 1
    assert "本店记为已支付，微信对账单没有这笔支付" in result.output
    assert "本店记为已退款" in result.output and out_refund_no in result.output


def test_demo_orders_are_listed_as_the_shops_own_not_as_differences(app, client, runner):
    bought_and_paid(app)  # so WeChat has a bill for today
    out_trade_no, _ = pending_order(app, price_fen=990)
    with app.app_context():
        order = orders.find(out_trade_no)
        order.status, order.transaction_id, order.paid_at = (
            OrderStatus.PAID,
            "DEMO0000000000000001",
            utcnow(),
        )
        db.session.commit()
    result = runner.invoke(args=["orders", "bill", "--date", _today()])
    assert result.exit_code == 0, result.output
    assert out_trade_no in result.output and "演示订单" in result.output
    assert "对账一致" in result.output


# --- the audit trail --------------------------------------------------------------------------


def test_a_foreign_merchants_notification_joins_the_orders_audit_trail(app, client):
    out_trade_no, _ = pending_order(app, price_fen=990)
    body = payment_notification(app, out_trade_no, 990, mch_id="1900000999")
    _, answer = post_notification(client, body)
    assert "FAIL" in answer
    with app.app_context():
        order = orders.find(out_trade_no)
        kinds = db.session.scalars(
            sa.select(PaymentEvent.kind).where(PaymentEvent.order_id == order.id)
        ).all()
    assert "notification_refused" in kinds


def test_an_unrecordable_refund_of_a_known_order_joins_its_audit_trail(app):
    out_trade_no, _ = pending_order(app, price_fen=990)  # never paid here
    with app.app_context():
        begin_write()
        with pytest.raises(orders.RefundNotAllowed):
            orders.settle_refund(
                "R-unknown", "SUCCESS", "5000", None, True, out_trade_no=out_trade_no, amount_fen=1
            )
        db.session.commit()
        event = db.session.scalar(
            sa.select(PaymentEvent).where(PaymentEvent.kind == "refund_for_unknown_refund")
        )
        assert event.order_id == orders.find(out_trade_no).id
        assert db.session.scalar(sa.select(sa.func.count(Refund.id))) == 0


# --- answers that are not the protocol's XML ----------------------------------------------------


NOT_XML = {
    "http_500": {"status": 500, "body": b"Internal Server Error"},
    "html_page": {"status": 200, "body": b"<html><body>502 Bad Gateway</body></html>"},
    "empty": {"status": 200, "body": b""},
    "truncated": {"status": 200, "body": b"<xml><return_code>SUCC"},
    "xml_without_return_code": {"status": 200, "body": b"<xml><a>1</a></xml>"},
    "empty_xml": {"status": 200, "body": b"<xml/>"},
}
CALLS = {
    "pay/orderquery": lambda gateway, no: gateway.query(no),
    "pay/closeorder": lambda gateway, no: gateway.close(no),
    "pay/refundquery": lambda gateway, no: gateway.query_order_refunds(no),
    "pay/downloadbill": lambda gateway, no: gateway.download_bill(datetime.now().date()),
    "secapi/pay/refund": lambda gateway, no: gateway.refund(
        out_trade_no=no,
        out_refund_no="R" + no[:20],
        total_fen=1990,
        refund_fen=1,
        reason="",
        notify_url="http://localhost/pay/wechat/refund-notify",
    ),
}


@pytest.mark.parametrize("answer", NOT_XML.values(), ids=NOT_XML.keys())
@pytest.mark.parametrize("endpoint", CALLS.keys())
def test_every_call_turns_an_answer_that_is_not_xml_into_an_unknown_outcome(app, endpoint, answer):
    out_trade_no, _, _ = bought_and_paid(app)
    with (
        wechat_answers(app, endpoint, **answer),
        app.app_context(),
        pytest.raises(GatewayError) as caught,
    ):
        CALLS[endpoint](current_gateway(), out_trade_no)
    assert caught.value.outcome_unknown and caught.value.retryable
    assert "微信支付" in caught.value.message or "对账单" in caught.value.message


def test_a_business_refusal_is_definite(app):
    with app.app_context(), pytest.raises(GatewayError) as caught:
        current_gateway().refund(
            out_trade_no="never-ordered",
            out_refund_no="R1",
            total_fen=1,
            refund_fen=1,
            reason="",
            notify_url="http://localhost/pay/wechat/refund-notify",
        )
    assert caught.value.code == "ORDERNOTEXIST" and not caught.value.outcome_unknown


def test_reconcile_after_a_refund_answered_with_an_html_page(app, runner):
    out_trade_no, _, _ = bought_and_paid(app)
    with wechat_answers(app, "secapi/pay/refund", status=200, body=b"<html>oops</html>"):
        runner.invoke(args=["orders", "refund", out_trade_no])
    with wechat_answers(app, "pay/refundquery", status=502, body=b""):
        down = runner.invoke(args=["orders", "reconcile"])
    assert down.exit_code == 1 and "HTTP 502" in down.output
    deliver_due_notifications(app, now=utcnow())
    assert latest_order(app, out_trade_no).status is OrderStatus.REFUNDED
    with app.app_context():
        assert db.session.scalar(sa.select(Refund.status)) is RefundStatus.SUCCESS


def test_a_query_answered_for_another_merchant_is_an_unknown_outcome_not_a_crash(app, client):
    """wechatpy checks no answer's signature: an answer that names another merchant is no
    answer, and the pay page that polled keeps waiting instead of failing."""
    out_trade_no, _ = pending_order(app)
    foreign = (
        b"<xml><return_code>SUCCESS</return_code><result_code>SUCCESS</result_code>"
        b"<appid>wx0000000000000000</appid><mch_id>1000000001</mch_id>"
        b"<trade_state>SUCCESS</trade_state><total_fee>990</total_fee></xml>"
    )
    with wechat_answers(app, "pay/orderquery", body=foreign), app.app_context():
        with pytest.raises(GatewayError) as caught:
            current_gateway().query(out_trade_no)
        assert caught.value.outcome_unknown
        assert orders.find(out_trade_no).status is OrderStatus.PENDING
