"""支付结果通知: what is sent, when, how often, and only once at a time (§5)."""

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import xmltodict
from flask import Flask
from wechatpy.exceptions import InvalidSignatureException

from app.extensions import csrf, db
from app.sandbox import notify
from app.sandbox.models import SandboxPayNotification
from app.sandbox.pay_protocol import signature_ok
from tests.conftest import TEST_PAY_KEY
from tests.sandbox.conftest import SINK_URL, SandboxTables, Sink, make_pay, paid_order

NOTIFICATION_FIELDS = {
    "appid",
    "mch_id",
    "nonce_str",
    "sign",
    "result_code",
    "return_code",
    "openid",
    "is_subscribe",
    "trade_type",
    "bank_type",
    "total_fee",
    "cash_fee",
    "fee_type",
    "transaction_id",
    "out_trade_no",
    "time_end",
}


def test_the_notification_is_queued_not_sent_by_the_paying_request(wxpay, client, sink, sandbox):
    paid_order(wxpay, client, sandbox)
    assert sink.bodies == []
    [row] = sandbox.notifications()
    assert row.kind == "payment" and row.url == SINK_URL and row.attempts == 0


def test_the_notification_is_what_wechatpy_verifies(wxpay, client, sink, sandbox):
    paid = paid_order(wxpay, client, sandbox, attach="order=7")
    assert sandbox.deliver() == 1
    [body] = sink.bodies

    fields = xmltodict.parse(body)["xml"]
    assert set(fields) == NOTIFICATION_FIELDS | {"attach"}
    result = wxpay.parse_payment_result(body)  # raises unless the MD5 sign is right
    assert result["return_code"] == result["result_code"] == "SUCCESS"
    assert result["appid"] == wxpay.appid and result["mch_id"] == wxpay.mch_id
    assert result["out_trade_no"] == paid["out_trade_no"] and result["attach"] == "order=7"
    assert result["total_fee"] == result["cash_fee"] == 990
    assert result["openid"] == paid["payer"] and result["is_subscribe"] == "N"
    assert result["bank_type"] == "OTHERS" and result["fee_type"] == "CNY"
    query = wxpay.order.query(out_trade_no=paid["out_trade_no"])
    assert result["transaction_id"] == query["transaction_id"]
    assert result["time_end"] == query["time_end"]

    [row] = sandbox.notifications()
    assert row.delivered_at is not None and row.next_attempt_at is None and row.attempts == 1
    assert sandbox.deliver() == 0


def test_without_attach_there_is_no_attach_field(wxpay, client, sink, sandbox):
    paid_order(wxpay, client, sandbox)
    sandbox.deliver()
    assert set(xmltodict.parse(sink.bodies[0])["xml"]) == NOTIFICATION_FIELDS


def test_an_hmac_order_gets_an_hmac_notification(wxpay, client, sink, sandbox):
    paid_order(wxpay, client, sandbox, sign_type="HMAC-SHA256")
    sandbox.deliver()
    fields = xmltodict.parse(sink.bodies[0])["xml"]
    assert fields["sign_type"] == "HMAC-SHA256"
    assert signature_ok(fields, TEST_PAY_KEY, "HMAC-SHA256")
    with pytest.raises(InvalidSignatureException):  # wechatpy checks MD5 only: use MD5
        wxpay.parse_payment_result(sink.bodies[0])


def test_failed_deliveries_are_retried_on_wechats_schedule_then_given_up(
    app, wxpay, client, sink, sandbox
):
    app.config["SANDBOX_NOTIFY_TIME_SCALE"] = 1  # WeChat's real gaps, with time passed in
    sink.answer = "FAIL"
    paid_order(wxpay, client, sandbox)
    [row] = sandbox.notifications()
    now = row.next_attempt_at
    gaps = []
    while now is not None:
        assert sandbox.deliver(now=now) == 1
        assert sandbox.deliver(now=now) == 0  # nothing else is due at that moment
        [row] = sandbox.notifications()
        if row.next_attempt_at is not None:
            gaps.append((row.next_attempt_at - now).total_seconds())
        now = row.next_attempt_at

    assert len(sink.bodies) == 16 and row.attempts == 16  # the first try and 15 retries
    assert gaps == [15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600] + [10800] * 3 + [21600] * 2
    assert sum(gaps) == 24 * 3600 + 4 * 60  # "总计 24h4m"
    assert row.delivered_at is None and "签名失败" in row.last_answer
    assert sandbox.deliver(now=datetime.now(UTC) + timedelta(days=30)) == 0


def test_the_schedule_is_compressed_by_default(app, wxpay, client, sink, sandbox):
    sink.answer = "FAIL"
    paid_order(wxpay, client, sandbox)
    before = datetime.now(UTC)
    sandbox.deliver(now=before)
    [row] = sandbox.notifications()
    assert row.next_attempt_at - before == timedelta(seconds=15 / 60)


@pytest.mark.parametrize(
    ("answer", "status"),
    [
        ("success", 200),  # the plain word is what some merchants send; WeChat wants XML
        ("<xml><return_code>SUCCESS</return_code>", 200),
        ("<xml><return_code>SUCCESS</return_code></xml>", 500),
        ("<xml><return_code>FAIL</return_code></xml>", 200),
        ("", 200),
    ],
)
def test_only_a_success_xml_answer_counts(wxpay, client, sink, sandbox, answer, status):
    sink.answer, sink.status = answer, status
    paid_order(wxpay, client, sandbox)
    sandbox.deliver()
    [row] = sandbox.notifications()
    assert row.delivered_at is None and row.attempts == 1 and row.next_attempt_at is not None


def test_a_retry_that_succeeds_stops_the_retries(wxpay, client, sink, sandbox):
    sink.answer = "FAIL"
    paid_order(wxpay, client, sandbox)
    sandbox.deliver()
    sink.answer = "SUCCESS"
    [row] = sandbox.notifications()
    assert sandbox.deliver(now=row.next_attempt_at) == 1
    [row] = sandbox.notifications()
    assert row.delivered_at is not None and row.attempts == 2 and row.next_attempt_at is None


def test_a_crashing_merchant_is_a_failed_attempt(app, wxpay, client, sandbox):
    def crash():
        raise RuntimeError("merchant bug")

    app.add_url_rule("/crash-notify", view_func=crash, methods=["POST"])
    csrf.exempt(crash)
    paid_order(wxpay, client, sandbox, notify_url="http://localhost/crash-notify")
    sandbox.deliver()
    [row] = sandbox.notifications()
    assert row.delivered_at is None and row.attempts == 1
    assert row.last_answer.startswith(("HTTP 500", "HTTP 0: RuntimeError"))


def test_a_claimed_row_is_left_to_its_claimer(app, wxpay, client, sink, sandbox):
    paid_order(wxpay, client, sandbox)
    with app.app_context():
        row = db.session.query(SandboxPayNotification).one()
        row.claimed_until = datetime.now(UTC) + timedelta(seconds=30)
        db.session.commit()
    assert sandbox.deliver() == 0 and sink.bodies == []
    # A claimer that died lets go when its claim runs out.
    assert sandbox.deliver(now=datetime.now(UTC) + timedelta(seconds=31)) == 1


def test_concurrent_deliverers_send_each_notification_once(app, wxpay, client, sink, sandbox):
    for _ in range(3):
        paid_order(wxpay, client, sandbox)
    counts = []
    barrier = threading.Barrier(4)

    def deliverer():
        barrier.wait()
        counts.append(sandbox.deliver())

    threads = [threading.Thread(target=deliverer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(counts) == 3 and len(sink.bodies) == 3


def test_resending_the_latest_notification_makes_a_duplicate(app, wxpay, client, sink, sandbox):
    paid = paid_order(wxpay, client, sandbox)
    sandbox.deliver()
    assert notify.resend_latest_notification(paid["out_trade_no"], app=app) is True
    assert len(sink.bodies) == 2 and sink.bodies[0] == sink.bodies[1]
    [row] = sandbox.notifications()
    assert row.attempts == 2
    with pytest.raises(LookupError):
        notify.resend_latest_notification(paid["out_trade_no"], kind="refund", app=app)


def test_the_cli_delivers(app, wxpay, client, sink, sandbox):
    paid_order(wxpay, client, sandbox)
    result = app.test_cli_runner().invoke(args=["sandbox", "deliver"])
    assert result.exit_code == 0, result.output
    assert "1" in result.output and len(sink.bodies) == 1


def test_the_worker_is_off_in_tests_and_on_when_asked(app_factory):
    assert not notify.worker_enabled(app_factory())
    assert notify.worker_enabled(app_factory(TESTING=False))
    assert not notify.worker_enabled(app_factory(TESTING=False, SANDBOX_NOTIFY_WORKER=False))


def test_the_worker_delivers_in_the_background(app_factory, tmp_path):
    app: Flask = app_factory(SANDBOX_NOTIFY_WORKER=True)
    sink = Sink()

    def background_sink():
        return sink.respond(b"")

    app.add_url_rule("/test-sink/notify", view_func=background_sink, methods=["POST"])
    csrf.exempt(background_sink)
    try:
        paid_order(make_pay(app), app.test_client(), SandboxTables(app))
        deadline = time.monotonic() + 10
        while not sink.bodies and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(sink.bodies) == 1
    finally:
        notify.stop_worker(app)
    assert not notify._running(app)
