"""Whatever arrives at pay/unifiedorder, the answer is WeChat's XML, never a server error."""

import string

import xmltodict
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import TEST_PAY_KEY
from tests.sandbox.conftest import signed_xml_body

URL = "/sandbox/pay/pay/unifiedorder"
FIELDS = [
    "appid",
    "mch_id",
    "body",
    "attach",
    "out_trade_no",
    "total_fee",
    "spbill_create_ip",
    "notify_url",
    "trade_type",
    "product_id",
    "openid",
    "scene_info",
    "time_start",
    "time_expire",
    "sign_type",
    "fee_type",
    "device_info",
]
TRADE_TYPES = st.sampled_from(["NATIVE", "JSAPI", "MWEB", "APP", "", "native"])
# Text that XML can carry (no control characters or surrogates).
XML_TEXT = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"),
    max_size=300,
)
VALUES = st.one_of(
    XML_TEXT,
    st.integers(min_value=-(10**12), max_value=10**12).map(str),
    st.text(string.digits, min_size=14, max_size=14),
    st.sampled_from(["http://localhost/n", "https://x/y?z=1", "127.0.0.1", "::1", "MD5"]),
)

# The app and client fixtures are shared by all examples on purpose: state piles up, as it would.
RELAXED = {"deadline": None, "suppress_health_check": [HealthCheck.function_scoped_fixture]}

HOSTILE = [
    b'<!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
    b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]><xml><body>&c;</body></xml>',
    b'<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml><body>&x;</body></xml>',
    b'<?xml version="1.0" encoding="UTF-16"?><xml/>',
    b"<xml>" + b"<a>" * 5000 + b"</a>" * 5000 + b"</xml>",
    b"\xff\xfe<\x00x\x00",
    b"<xml><![CDATA[" + b"]]>" * 10 + b"</xml>",
    b"<xml><sign>" + b"A" * 70000 + b"</sign></xml>",
]


def _check(client, body: bytes):
    response = client.post(URL, data=body)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    answer = xmltodict.parse(response.get_data())["xml"]
    assert answer["return_code"] in ("SUCCESS", "FAIL")
    return answer


def test_known_hostile_bodies(client):
    for body in HOSTILE:
        answer = _check(client, body)
        assert answer["return_code"] == "FAIL" or answer["result_code"] == "FAIL"


@settings(max_examples=150, **RELAXED)
@given(body=st.binary(max_size=2000))
def test_random_bytes(client, body):
    _check(client, body)


@settings(max_examples=150, **RELAXED)
@given(fields=st.dictionaries(st.sampled_from(FIELDS), VALUES, max_size=len(FIELDS)))
def test_unsigned_xml_with_any_fields(client, fields):
    body = "<xml>" + "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in fields.items()) + "</xml>"
    _check(client, body.encode("utf-8", "surrogatepass"))


@settings(max_examples=300, **RELAXED)
@given(
    changes=st.dictionaries(st.sampled_from(FIELDS[2:]), VALUES, max_size=4),
    trade_type=TRADE_TYPES,
    out_trade_no=st.sampled_from(["order-000001", "order-000002"]),  # re-entries too
)
def test_signed_requests_with_any_values(app, client, changes, trade_type, out_trade_no):
    """A valid order with a few fields changed, correctly signed: it reaches the business rules."""
    params = {
        "appid": app.config["WECHAT_APPID"],
        "mch_id": app.config["WECHAT_MCH_ID"],
        "nonce_str": "n" * 32,
        "body": "店-课",
        "out_trade_no": out_trade_no,
        "total_fee": "1",
        "spbill_create_ip": "127.0.0.1",
        "notify_url": "http://localhost/notify",
        "trade_type": trade_type,
        "product_id": "p",
        "scene_info": '{"h5_info": {"type": "Wap"}}',
        **changes,
    }
    params.pop("sign_type", None)  # signed with MD5 below
    params = {k: v for k, v in params.items() if "]]>" not in v}  # wechatpy cannot send those
    answer = _check(client, signed_xml_body(params, TEST_PAY_KEY))
    assert answer["return_code"] == "SUCCESS" and answer["sign"]
    assert answer["result_code"] in ("SUCCESS", "FAIL")


OTHER_ENDPOINTS = [
    "pay/orderquery",
    "pay/closeorder",
    "secapi/pay/refund",
    "pay/refundquery",
    "pay/downloadbill",
]
OTHER_FIELDS = [
    "out_trade_no",
    "transaction_id",
    "out_refund_no",
    "refund_id",
    "total_fee",
    "refund_fee",
    "refund_desc",
    "refund_account",
    "refund_fee_type",
    "notify_url",
    "offset",
    "bill_date",
    "bill_type",
    "tar_type",
]


@settings(max_examples=300, **RELAXED)
@given(
    endpoint=st.sampled_from(OTHER_ENDPOINTS),
    fields=st.dictionaries(st.sampled_from(OTHER_FIELDS), VALUES, max_size=6),
)
def test_the_other_endpoints_take_any_signed_values(app, client, endpoint, fields):
    params = {
        "appid": app.config["WECHAT_APPID"],
        "mch_id": app.config["WECHAT_MCH_ID"],
        "nonce_str": "n" * 32,
        **{k: v for k, v in fields.items() if "]]>" not in v},
    }
    response = client.post(f"/sandbox/pay/{endpoint}", data=signed_xml_body(params, TEST_PAY_KEY))
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    if response.content_type.startswith("text/xml"):
        assert xmltodict.parse(response.get_data())["xml"]["return_code"] in ("SUCCESS", "FAIL")
