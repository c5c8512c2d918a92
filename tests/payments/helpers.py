"""Building orders and WeChat's notifications the way WeChat would sign them."""

import secrets
from contextlib import contextmanager
from datetime import timedelta
from urllib.parse import urlsplit

from requests.adapters import BaseAdapter
from wechatpy.pay.utils import calculate_signature, dict_to_xml

from app.extensions import db
from app.models import PayChannel
from app.payments import orders
from app.payments.gateway import current_gateway
from app.sandbox.notify import deliver_due_notifications
from app.wechat.transport import IN_PROCESS_ORIGIN
from tests import factories
from tests.conftest import TEST_PAY_KEY
from tests.payflow import csrf_token_in, latest_order, pay_on_phone

PAYER = "oPayer0000000000000000000001"


def new_transaction_id() -> str:
    return "4200" + "".join(secrets.choice("0123456789") for _ in range(24))


def pending_order(app, *, price_fen=990, channel=PayChannel.NATIVE, reader_openid=None):
    """A pending order for a new product and reader; returns (out_trade_no, ids)."""
    with app.app_context():
        product = factories.product(price_fen=price_fen)
        reader = factories.reader(openid=reader_openid)
        order = orders.place_order(reader, product, channel, "127.0.0.1", timedelta(hours=2))
        db.session.commit()
        return order.out_trade_no, {"reader": reader.id, "product": product.id}


def payment_notification(
    app,
    out_trade_no,
    total_fee,
    *,
    openid=PAYER,
    transaction_id=None,
    key=TEST_PAY_KEY,
    **overrides,
) -> bytes:
    """A payment notification as WeChat sends it (docs/wechat-protocol.md §5), signed with MD5."""
    fields = {
        "appid": app.config["WECHAT_APPID"],
        "mch_id": app.config["WECHAT_MCH_ID"],
        "nonce_str": secrets.token_hex(16),
        "result_code": "SUCCESS",
        "return_code": "SUCCESS",
        "openid": openid,
        "is_subscribe": "N",
        "trade_type": "NATIVE",
        "bank_type": "OTHERS",
        "total_fee": str(total_fee),
        "cash_fee": str(total_fee),
        "fee_type": "CNY",
        "transaction_id": transaction_id or new_transaction_id(),
        "out_trade_no": out_trade_no,
        "time_end": "20261125120000",
    }
    fields.update(overrides)
    fields = {k: v for k, v in fields.items() if v is not None}
    return dict_to_xml(fields, calculate_signature(fields, key)).encode("utf-8")


def post_notification(client, body: bytes):
    response = client.post("/pay/wechat/notify", data=body)
    return response.status_code, response.get_data(as_text=True)


def bought_and_paid(app, price_fen=1990):
    """A reader buys a new article on a desktop and pays by scanning with a phone, through
    the sandbox. Returns (out_trade_no, the desktop client, the article's slug)."""
    with app.app_context():
        slug = factories.product(price_fen=price_fen).slug
        db.session.commit()
    desktop = app.test_client()
    page = desktop.get(f"/p/{slug}/buy").get_data(as_text=True)
    desktop.post(f"/p/{slug}/buy", data={"csrf_token": csrf_token_in(page)})
    order = latest_order(app)
    pay_on_phone(app, order.code_url)
    deliver_due_notifications(app)
    return order.out_trade_no, desktop, slug


class AnswerOnTheWayBack(BaseAdapter):
    """Wraps the in-process route to the sandbox: WeChat does the work, then its answer to
    one endpoint is replaced (a proxy's error page, a cut body) or never arrives (`error`)."""

    def __init__(self, inner, endpoint, *, status=200, body=b"", error=None):
        super().__init__()
        self.inner, self.endpoint = inner, endpoint
        self.status, self.body, self.error = status, body, error

    def send(self, request, **kwargs):
        response = self.inner.send(request, **kwargs)
        if not urlsplit(request.url).path.endswith(self.endpoint):
            return response
        if self.error is not None:
            raise self.error
        response.status_code = self.status
        response._content = self.body
        return response

    def close(self):
        pass


@contextmanager
def wechat_answers(app, endpoint, **fault):
    """While inside, the shop's calls to `endpoint` get the answer `fault` describes."""
    with app.app_context():
        session = current_gateway().client._http
    inner = session.get_adapter(IN_PROCESS_ORIGIN + "/")
    session.mount(IN_PROCESS_ORIGIN, AnswerOnTheWayBack(inner, endpoint, **fault))
    try:
        yield
    finally:
        session.mount(IN_PROCESS_ORIGIN, inner)
