"""What the shop tells its operator: a JSON line per payment event with nothing personal or
secret in it, and error reports to Sentry only when asked for, scrubbed."""

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
import sentry_sdk

from app.config import ConfigurationError
from app.extensions import csrf
from app.payments import event_log
from app.payments.event_log import LOGGER
from tests.conftest import make_app
from tests.payflow import latest_order
from tests.payments.helpers import (
    bought_and_paid,
    payment_notification,
    pending_order,
    post_notification,
)


def _payment_lines(caplog) -> list[dict]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == LOGGER]


def test_every_payment_event_is_a_json_line_without_who_paid(app, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    out_trade_no, _, _ = bought_and_paid(app)
    order = latest_order(app, out_trade_no)

    lines = _payment_lines(caplog)
    kinds = [line["kind"] for line in lines]
    assert {"created", "prepay", "paid"} <= set(kinds)
    paid = next(line for line in lines if line["kind"] == "paid")
    assert paid["out_trade_no"] == out_trade_no and paid["order_id"] == order.id
    assert paid["transaction_id"] == order.transaction_id
    text = "\n".join(r.getMessage() for r in caplog.records if r.name == LOGGER)
    assert order.payer_openid and order.payer_openid not in text
    assert order.client_ip not in text and "prepay_id" not in text


def test_a_payment_for_an_unknown_order_is_logged_with_its_number(app, client, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    post_notification(client, payment_notification(app, "NO-SUCH-ORDER", 990))
    (line,) = [x for x in _payment_lines(caplog) if x["kind"] == "payment_for_unknown_order"]
    assert line["out_trade_no"] == "NO-SUCH-ORDER" and "order_id" not in line


def test_a_wrong_amount_is_logged_as_rejected(app, client, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    out_trade_no, _ = pending_order(app, price_fen=990)
    post_notification(client, payment_notification(app, out_trade_no, 1))
    (line,) = [x for x in _payment_lines(caplog) if x["kind"] == "payment_rejected"]
    assert line["out_trade_no"] == out_trade_no and line["paid_fen"] == 1
    assert line["reason"] == "amount_mismatch"


def test_detail_keys_not_named_stay_out():
    from datetime import UTC, datetime

    text = event_log.line(
        "refund_confirmed",
        7,
        "T1",
        {"token": "secret-token", "prepay_id": "wx1", "why": "a message", "fen": 5},
        datetime(2026, 12, 7, tzinfo=UTC),
    )
    assert json.loads(text) == {
        "event": "payment",
        "kind": "refund_confirmed",
        "at": "2026-12-07T00:00:00+00:00",
        "order_id": 7,
        "out_trade_no": "T1",
        "fen": 5,
    }


class _Ingest(BaseHTTPRequestHandler):
    """Stands in for Sentry's ingest endpoint: keeps every envelope it is sent."""

    received: ClassVar[list[bytes]] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            import gzip

            body = gzip.decompress(body)
        self.received.append(body)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture
def ingest():
    _Ingest.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ingest)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


def test_errors_reach_sentry_without_cookies_queries_or_bodies(tmp_path, ingest):
    port = ingest.server_address[1]
    app = make_app(tmp_path, SENTRY_DSN=f"http://publickey@127.0.0.1:{port}/1")

    @app.post("/boom")
    def boom():
        raise RuntimeError("the shop broke")

    csrf.exempt(boom)  # as WeChat's notification endpoints are

    try:
        client = app.test_client()
        client.set_cookie("session", "COOKIE-SECRET")
        answer = client.post(
            "/boom?code=OAUTH-SECRET&by=SHARER-SECRET",
            data="BODY-SECRET",
            headers={"Authorization": "AUTH-SECRET", "X-Forwarded-For": "203.0.113.9"},
        )
        assert answer.status_code == 500
        sentry_sdk.flush(timeout=5)
    finally:
        sentry_sdk.get_client().close()
        sentry_sdk.get_global_scope().set_client(None)  # the next tests' apps report nothing
    sent = b"".join(_Ingest.received).decode()
    assert "the shop broke" in sent and "RuntimeError" in sent
    for secret in ("COOKIE-SECRET", "OAUTH-SECRET", "SHARER-SECRET", "BODY-SECRET"):
        assert secret not in sent
    assert "AUTH-SECRET" not in sent and "203.0.113.9" not in sent


def test_without_a_dsn_nothing_is_reported(app):
    assert not sentry_sdk.get_client().is_active()


def test_a_malformed_dsn_refuses_to_start(tmp_path):
    with pytest.raises(ConfigurationError) as refused:
        make_app(tmp_path, SENTRY_DSN="sentry.example.com/1")
    assert "SENTRY_DSN" in str(refused.value)
