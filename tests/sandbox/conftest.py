"""WeChat Pay against the sandbox, through wechatpy for real: the same client the shop uses.

`wxpay` is a WeChatPay whose HTTP goes in-process to the test app, each call from inside a
reader's request on http://localhost (as the shop's calls are). `sink` is a notify_url on the
test app that records what WeChat sends and answers as told. `sandbox` reads and nudges the
sandbox's tables. Tests hold no app context of their own, so every request gets its own, as
in production.
"""

import re
import secrets
from datetime import datetime, timedelta

import pytest
import requests
import sqlalchemy as sa
from flask import request
from wechatpy.pay import WeChatPay
from wechatpy.pay.utils import calculate_signature, dict_to_xml

from app.extensions import csrf, db
from app.sandbox import oauth as sandbox_oauth
from app.sandbox.models import SandboxPayNotification, SandboxPayOrder
from app.sandbox.notify import deliver_due_notifications
from app.sandbox.pay_protocol import BEIJING
from app.wechat.transport import IN_PROCESS_ORIGIN, InProcessAdapter
from tests.conftest import TEST_PAY_KEY, path_of

API_BASE = IN_PROCESS_ORIGIN + "/sandbox/pay/"
SINK_PATH = "/test-sink/notify"
SINK_URL = "http://localhost" + SINK_PATH


class Sink:
    """Records notification bodies; answers SUCCESS unless told otherwise."""

    def __init__(self):
        self.bodies: list[bytes] = []
        self.answer = "SUCCESS"  # or "FAIL", or any raw text to send back as is
        self.status = 200

    def respond(self, body: bytes):
        self.bodies.append(body)
        if self.answer in ("SUCCESS", "FAIL"):
            message = "OK" if self.answer == "SUCCESS" else "签名失败"
            text = (
                f"<xml><return_code><![CDATA[{self.answer}]]></return_code>"
                f"<return_msg><![CDATA[{message}]]></return_msg></xml>"
            )
        else:
            text = self.answer
        return text, self.status, {"Content-Type": "text/xml"}


@pytest.fixture
def sink(app):
    recorder = Sink()

    def test_sink_notify():
        return recorder.respond(request.get_data())

    app.add_url_rule(SINK_PATH, view_func=test_sink_notify, methods=["POST"])
    csrf.exempt(test_sink_notify)
    return recorder


class ReaderRequestAdapter(InProcessAdapter):
    """Each call from inside a reader's request on http://localhost, as the shop makes it."""

    def send(self, request, **kwargs):
        with self.wsgi_app.test_request_context("/", base_url="http://localhost"):
            return super().send(request, **kwargs)


def make_pay(app, key: str = TEST_PAY_KEY, appid=None, mch_id=None) -> WeChatPay:
    client = WeChatPay(
        appid or app.config["WECHAT_APPID"],
        key,
        mch_id or app.config["WECHAT_MCH_ID"],
        timeout=5,
    )
    client.API_BASE_URL = API_BASE
    session = requests.Session()  # wechatpy keeps its session as _http
    session.mount(IN_PROCESS_ORIGIN, ReaderRequestAdapter(app))
    client._http = session
    return client


@pytest.fixture
def wxpay(app, sink):
    return make_pay(app)


class SandboxTables:
    """The sandbox's state, read and changed in short app contexts of their own."""

    def __init__(self, app):
        self.app = app

    def user(self, nickname: str = "小明") -> str:
        with self.app.app_context():
            user = sandbox_oauth.create_user(nickname)
            db.session.commit()
            return user.openid

    def order(self, out_trade_no: str) -> SandboxPayOrder | None:
        with self.app.app_context():
            return db.session.scalar(
                sa.select(SandboxPayOrder).where(SandboxPayOrder.out_trade_no == out_trade_no)
            )

    def update_order(self, out_trade_no: str, **values) -> None:
        with self.app.app_context():
            db.session.execute(
                sa.update(SandboxPayOrder)
                .where(SandboxPayOrder.out_trade_no == out_trade_no)
                .values(**values)
            )
            db.session.commit()

    def notifications(self, kind: str | None = None) -> list[SandboxPayNotification]:
        with self.app.app_context():
            query = sa.select(SandboxPayNotification).order_by(SandboxPayNotification.id)
            if kind:
                query = query.where(SandboxPayNotification.kind == kind)
            return list(db.session.scalars(query))

    def deliver(self, now: datetime | None = None) -> int:
        return deliver_due_notifications(self.app, now=now)


@pytest.fixture
def sandbox(app):
    return SandboxTables(app)


def new_out_trade_no() -> str:
    return "T" + secrets.token_hex(8)


def beijing(moment: datetime) -> datetime:
    """A naive Beijing time, as wechatpy formats time_start and time_expire."""
    return moment.astimezone(BEIJING).replace(tzinfo=None)


def order_args(trade_type: str = "NATIVE", **overrides) -> dict:
    """Arguments for wechatpy's order.create, with fixed times so that re-entry can repeat them."""
    now = datetime.now(BEIJING)
    args = {
        "trade_type": trade_type,
        "body": "知识小店-Python 入门课",
        "total_fee": 990,
        "notify_url": SINK_URL,
        "client_ip": "203.0.113.7",
        "out_trade_no": new_out_trade_no(),
        "time_start": beijing(now),
        "time_expire": beijing(now + timedelta(hours=2)),
    }
    if trade_type == "NATIVE":
        args["product_id"] = "course-1"
    if trade_type == "MWEB":
        args["scene_info"] = {
            "h5_info": {"type": "Wap", "wap_url": "http://localhost/", "wap_name": "知识小店"}
        }
    args.update(overrides)
    return args


def signed_xml_body(params: dict, key: str = TEST_PAY_KEY) -> bytes:
    """A request body made with wechatpy's own helpers, for requests wechatpy cannot send."""
    return dict_to_xml(params, calculate_signature(params, key)).encode("utf-8")


def csrf_token(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def pay_on_phone(client, url: str, decision: str = "pay", **form):
    """Open a code_url or mweb_url in the test browser and press 支付 (or 取消)."""
    page = client.get(path_of(url))
    assert page.status_code == 200, page.get_data(as_text=True)
    data = {"csrf_token": csrf_token(page.get_data(as_text=True)), "decision": decision, **form}
    return client.post(path_of(url), data=data)


def press_pay_again(client, url: str, openid: str):
    """支付 pressed on a page that was opened earlier (before a payment, close or expiry)."""
    token = csrf_token(client.get("/sandbox/").get_data(as_text=True))
    form = {"csrf_token": token, "decision": "pay", "openid": openid}
    return client.post(path_of(url), data=form)


def paid_order(wxpay, client, sandbox, trade_type="NATIVE", **overrides) -> dict:
    """An order paid on the phone page; returns its order.create arguments and the payer."""
    openid = sandbox.user()
    args = order_args(trade_type, **overrides)
    code_url = wxpay.order.create(**args)["code_url"]
    assert "支付成功" in pay_on_phone(client, code_url, openid=openid).get_data(as_text=True)
    return {**args, "payer": openid}
