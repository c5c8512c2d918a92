"""Building orders and WeChat's notifications the way WeChat would sign them."""

import secrets
from datetime import timedelta

from wechatpy.pay.utils import calculate_signature, dict_to_xml

from app.extensions import db
from app.models import PayChannel
from app.payments import orders
from tests import factories
from tests.conftest import TEST_PAY_KEY

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
