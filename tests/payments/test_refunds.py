"""Refunds through the sandbox when WeChat's answer is lost, mangled, or about a refund the
shop never asked for (made in 商户平台)."""

import logging
from datetime import timedelta

import pytest
import requests
import sqlalchemy as sa

from app.extensions import db
from app.models import Entitlement, OrderStatus, PaymentEvent, Refund, RefundStatus
from app.models.base import utcnow
from app.payments import orders
from app.sandbox.notify import deliver_due_notifications
from app.sandbox.pay_refunds import refund_from_merchant_platform
from tests import factories
from tests.payflow import latest_order
from tests.payments.helpers import bought_and_paid, wechat_answers

REFUND = "secapi/pay/refund"
# The refund was made at WeChat; what came back was not its answer.
UNKNOWN_OUTCOMES = {
    "http_502": {"status": 502, "body": b"<html><body>502 Bad Gateway</body></html>"},
    "html_page": {"status": 200, "body": b"<!DOCTYPE html><html><body>busy</body></html>"},
    "empty_body": {"status": 200, "body": b""},
    "truncated_xml": {"status": 200, "body": b"<xml><return_code><![CDATA[SUCC"},
    "time_out": {"error": requests.ReadTimeout("read timed out")},
    "connection_reset": {"error": requests.ConnectionError("connection reset")},
}


def _refunds(app, out_trade_no) -> list[Refund]:
    with app.app_context():
        found = db.session.scalars(
            sa.select(Refund).join(Refund.order).where(orders.Order.out_trade_no == out_trade_no)
        ).all()
        db.session.expunge_all()
        return list(found)


def _events(app, out_trade_no) -> list[str]:
    with app.app_context():
        order = orders.find(out_trade_no)
        return list(
            db.session.scalars(
                sa.select(PaymentEvent.kind)
                .where(PaymentEvent.order_id == order.id)
                .order_by(PaymentEvent.id)
            )
        )


def _readable(client, slug) -> bool:
    return factories.PAID_SECRET in client.get(f"/p/{slug}/read").get_data(as_text=True)


@pytest.mark.parametrize("fault", UNKNOWN_OUTCOMES.values(), ids=UNKNOWN_OUTCOMES.keys())
def test_a_refund_whose_answer_is_lost_stays_processing_and_its_success_applies(app, runner, fault):
    out_trade_no, desktop, slug = bought_and_paid(app)
    with wechat_answers(app, REFUND, **fault):
        result = runner.invoke(args=["orders", "refund", out_trade_no])
    assert result.exit_code != 0 and "仍在处理中" in result.output
    assert "Traceback" not in result.output
    [refund] = _refunds(app, out_trade_no)
    assert refund.status is RefundStatus.PROCESSING
    with app.app_context():  # in flight: nothing more may be sent
        assert orders.refundable_fen(orders.find(out_trade_no)) == 0

    deliver_due_notifications(app)  # WeChat made it, and says so
    assert latest_order(app, out_trade_no).status is OrderStatus.REFUNDED
    assert _refunds(app, out_trade_no)[0].status is RefundStatus.SUCCESS
    assert not _readable(desktop, slug)
    assert "refund_outcome_unknown" in _events(app, out_trade_no)


def test_reconcile_settles_a_refund_whose_answer_was_a_5xx(app, runner):
    out_trade_no, _, _ = bought_and_paid(app)
    with wechat_answers(app, REFUND, status=503, body=b"Service Unavailable"):
        runner.invoke(args=["orders", "refund", out_trade_no, "--amount", "9.90"])
    # The notification is lost; reconcile asks WeChat, which made the refund.
    result = runner.invoke(args=["orders", "reconcile"])
    assert result.exit_code == 0, result.output
    assert "退款结清 1" in result.output and "退款重发 0" in result.output
    order = latest_order(app, out_trade_no)
    assert order.status is OrderStatus.PARTIALLY_REFUNDED and order.refunded_fen == 990
    # The partial refund was never sent twice: only the rest can still go.
    with app.app_context():
        assert orders.refundable_fen(orders.find(out_trade_no)) == 1000


def test_the_cli_refunds_by_default_what_a_refund_in_flight_leaves(app, runner):
    out_trade_no, _, _ = bought_and_paid(app)
    with wechat_answers(app, REFUND, status=503, body=b"Service Unavailable"):
        runner.invoke(args=["orders", "refund", out_trade_no, "--amount", "9.90"])
    # ¥9.90 may be on its way already: the rest is ¥10.00, not the ¥19.90 not yet refunded.
    rest = runner.invoke(args=["orders", "refund", out_trade_no])
    assert rest.exit_code == 0, rest.output
    assert sorted(refund.amount_fen for refund in _refunds(app, out_trade_no)) == [990, 1000]
    assert runner.invoke(args=["orders", "reconcile"]).exit_code == 0
    deliver_due_notifications(app)
    order = latest_order(app, out_trade_no)
    assert order.status is OrderStatus.REFUNDED and order.refunded_fen == 1990


def test_a_definite_refusal_marks_the_refund_failed(app, runner):
    out_trade_no, desktop, slug = bought_and_paid(app)
    with app.app_context():  # WeChat's refund window has passed for this order
        from app.sandbox.models import SandboxPayOrder

        sandbox_order = db.session.scalar(
            sa.select(SandboxPayOrder).where(SandboxPayOrder.out_trade_no == out_trade_no)
        )
        sandbox_order.paid_at = utcnow() - timedelta(days=400)
        db.session.commit()
    result = runner.invoke(args=["orders", "refund", out_trade_no])
    assert result.exit_code != 0 and "未受理退款" in result.output
    [refund] = _refunds(app, out_trade_no)
    assert refund.status is RefundStatus.FAILED
    assert _readable(desktop, slug)


def test_network_errors_are_reported_without_the_url(app, runner, caplog):
    out_trade_no, _, _ = bought_and_paid(app)
    secret_url = "https://api.mch.weixin.qq.com/secapi/pay/refund?token=s3cret"
    caplog.set_level(logging.DEBUG)
    with wechat_answers(app, REFUND, error=requests.ConnectTimeout(f"timed out: {secret_url}")):
        result = runner.invoke(args=["orders", "refund", out_trade_no])
    assert "微信支付连接失败（超时）" in result.output
    assert "s3cret" not in result.output and "s3cret" not in caplog.text
    with app.app_context():
        details = db.session.scalars(sa.select(PaymentEvent.detail)).all()
    assert "s3cret" not in repr(details)


def test_a_success_verdict_applies_after_failed_once(app):
    out_trade_no, desktop, slug = bought_and_paid(app)
    with app.app_context():
        from app.transactions import begin_write

        begin_write()
        refund = orders.open_refund(orders.find(out_trade_no), 1990, "")
        orders.refund_refused(refund, "ERROR 业务错误")
        db.session.commit()
        no = refund.out_refund_no
        begin_write()
        assert orders.settle_refund(no, "SUCCESS", "5000", None, True) is True
        assert orders.settle_refund(no, "SUCCESS", "5000", None, True) is False
        assert orders.settle_refund(no, "REFUNDCLOSE", "5000", None, True) is False
        db.session.commit()
        order = orders.find(out_trade_no)
        assert order.status is OrderStatus.REFUNDED and order.refunded_fen == 1990
        assert db.session.scalar(sa.select(sa.func.count(Entitlement.id))) == 0
    assert not _readable(desktop, slug)


# --- refunds made outside the shop ----------------------------------------------------------------


def _platform_refund(app, out_trade_no, fen, notify=True) -> str:
    with app.app_context():
        url = "http://localhost/pay/wechat/refund-notify" if notify else None
        return refund_from_merchant_platform(out_trade_no, fen, url, utcnow()).out_refund_no


def test_a_refund_made_in_the_merchant_platform_is_recorded_from_its_notification(app):
    out_trade_no, desktop, slug = bought_and_paid(app)
    out_refund_no = _platform_refund(app, out_trade_no, 1990)
    assert deliver_due_notifications(app) == 1

    [refund] = _refunds(app, out_trade_no)
    assert refund.out_refund_no == out_refund_no and refund.status is RefundStatus.SUCCESS
    assert refund.reason == orders.OUTSIDE_REFUND_REASON and refund.amount_fen == 1990
    order = latest_order(app, out_trade_no)
    assert order.status is OrderStatus.REFUNDED and order.refunded_fen == 1990
    assert not _readable(desktop, slug)
    assert {"refund_outside", "refund_success", "access_revoked"} <= set(_events(app, out_trade_no))
    with app.app_context():  # answered SUCCESS: WeChat does not send it again
        from app.sandbox.models import SandboxPayNotification

        row = db.session.scalar(
            sa.select(SandboxPayNotification).where(SandboxPayNotification.kind == "refund")
        )
        assert row.delivered_at is not None


def test_a_partial_platform_refund_keeps_access_and_limits_what_is_left(app):
    out_trade_no, desktop, slug = bought_and_paid(app)
    _platform_refund(app, out_trade_no, 500)
    deliver_due_notifications(app)
    order = latest_order(app, out_trade_no)
    assert order.status is OrderStatus.PARTIALLY_REFUNDED and order.refunded_fen == 500
    assert _readable(desktop, slug)
    with app.app_context():
        assert orders.refundable_fen(orders.find(out_trade_no)) == 1490


def test_reconcile_records_a_platform_refund_of_an_order_it_looks_at(app, runner):
    out_trade_no, _, _ = bought_and_paid(app)
    with wechat_answers(app, REFUND, status=502, body=b"Bad Gateway"):
        runner.invoke(args=["orders", "refund", out_trade_no, "--amount", "10.00"])
    platform_no = _platform_refund(app, out_trade_no, 990, notify=False)  # no notification

    result = runner.invoke(args=["orders", "reconcile"])
    assert result.exit_code == 0, result.output
    assert "退款结清 2" in result.output
    order = latest_order(app, out_trade_no)
    assert order.status is OrderStatus.REFUNDED and order.refunded_fen == 1990
    assert platform_no in {refund.out_refund_no for refund in _refunds(app, out_trade_no)}


def test_an_unknown_refund_of_an_unknown_order_is_refused_and_logged(app, client):
    out_trade_no, _, _ = bought_and_paid(app)
    with app.app_context():  # the shop lost the order (a restore from an old backup, say)
        order = orders.find(out_trade_no)
        db.session.execute(sa.delete(Entitlement).where(Entitlement.order_id == order.id))
        db.session.execute(sa.delete(PaymentEvent).where(PaymentEvent.order_id == order.id))
        db.session.delete(order)
        db.session.commit()
    _platform_refund(app, out_trade_no, 1990)
    deliver_due_notifications(app)
    with app.app_context():
        event = db.session.scalar(
            sa.select(PaymentEvent).where(PaymentEvent.kind == "refund_for_unknown_refund")
        )
        assert event.order_id is None and event.detail["out_trade_no"] == out_trade_no
