"""统一下单 through wechatpy: every trade type, re-entry, and WeChat's refusals (§3.1, §3.4)."""

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
import xmltodict
from wechatpy.exceptions import WeChatPayException

from app.sandbox.pay_protocol import sign, signature_ok
from tests.conftest import TEST_PAY_KEY
from tests.sandbox.conftest import beijing, make_pay, order_args, signed_xml_body

UNIFIEDORDER = "/sandbox/pay/pay/unifiedorder"


def _error(call) -> WeChatPayException:
    with pytest.raises(WeChatPayException) as caught:
        call()
    return caught.value


def test_native_gives_a_code_url_on_the_readers_host(wxpay, sandbox):
    args = order_args("NATIVE")
    result = wxpay.order.create(**args)
    assert result["return_code"] == result["result_code"] == "SUCCESS"
    assert result["trade_type"] == "NATIVE"
    assert re.fullmatch(r"wx\d{14}[0-9a-f]{20}", result["prepay_id"])
    code_url = urlsplit(result["code_url"])
    assert (code_url.scheme, code_url.netloc) == ("http", "localhost")
    assert code_url.path.startswith("/sandbox/pay/scan/")
    assert "mweb_url" not in result

    order = sandbox.order(args["out_trade_no"])
    assert order.total_fee == 990 and order.trade_state == "NOTPAY"
    assert order.product_id == "course-1" and order.spbill_create_ip == "203.0.113.7"
    assert order.time_expire == args["time_expire"].strftime("%Y%m%d%H%M%S")


def test_jsapi_needs_the_payers_openid(wxpay, sandbox):
    openid = sandbox.user()
    result = wxpay.order.create(**order_args("JSAPI", user_id=openid))
    assert result["trade_type"] == "JSAPI" and result["prepay_id"]
    assert "code_url" not in result and "mweb_url" not in result

    missing = _error(lambda: wxpay.order.create(**order_args("JSAPI")))
    assert missing.errcode == "LACK_PARAMS" and "openid" in missing.errmsg
    stranger = _error(lambda: wxpay.order.create(**order_args("JSAPI", user_id="o" * 28)))
    assert stranger.errcode == "INVALID_REQUEST"


def test_mweb_gives_an_h5_link_and_needs_scene_info(wxpay):
    result = wxpay.order.create(**order_args("MWEB"))
    mweb_url = urlsplit(result["mweb_url"])
    assert (mweb_url.netloc, mweb_url.path) == ("localhost", "/sandbox/pay/h5")
    assert mweb_url.query.startswith("token=")

    missing = _error(lambda: wxpay.order.create(**order_args("MWEB", scene_info=None)))
    assert missing.errcode == "LACK_PARAMS" and "scene_info" in missing.errmsg
    bad = _error(lambda: wxpay.order.create(**order_args("MWEB", scene_info={"x": 1})))
    assert bad.errcode == "INVALID_REQUEST"


def test_native_needs_a_product_id_and_app_is_not_offered(wxpay):
    missing = _error(lambda: wxpay.order.create(**order_args("NATIVE", product_id=None)))
    assert missing.errcode == "LACK_PARAMS" and "product_id" in missing.errmsg
    app_pay = _error(lambda: wxpay.order.create(**order_args("APP")))
    assert app_pay.errcode == "NOAUTH"
    unknown = _error(lambda: wxpay.order.create(**order_args("MICROPAY")))
    assert unknown.errcode == "INVALID_REQUEST"


def test_reentry_with_the_same_parameters_gives_the_same_prepay(wxpay):
    args = order_args("NATIVE")
    first = wxpay.order.create(**args)
    again = wxpay.order.create(**{**args, "client_ip": "198.51.100.1"})  # another network
    assert again["prepay_id"] == first["prepay_id"]
    assert again["code_url"] == first["code_url"]


def test_reentry_with_other_parameters_is_refused(wxpay):
    args = order_args("NATIVE")
    wxpay.order.create(**args)
    for change in ({"total_fee": 1990}, {"body": "知识小店-别的课"}, {"attach": "x"}):
        error = _error(lambda change=change: wxpay.order.create(**{**args, **change}))
        assert error.errcode == "INVALID_REQUEST"
        assert error.errmsg == "订单重入时，要求参数值与原请求一致"
    # wechatpy's default times are "now", so a shop must send the stored ones again.
    later = {**args, "time_expire": args["time_expire"] + timedelta(minutes=1)}
    assert _error(lambda: wxpay.order.create(**later)).errcode == "INVALID_REQUEST"


def test_reentry_after_two_hours_renews_the_prepay(wxpay, sandbox):
    args = order_args("NATIVE", time_expire=beijing(datetime.now(UTC) + timedelta(hours=5)))
    first = wxpay.order.create(**args)
    past = datetime.now(UTC) - timedelta(seconds=1)
    sandbox.update_order(args["out_trade_no"], prepay_expires_at=past)

    renewed = wxpay.order.create(**args)
    assert renewed["prepay_id"] != first["prepay_id"]
    assert renewed["code_url"] != first["code_url"]
    assert sandbox.order(args["out_trade_no"]).prepay_id == renewed["prepay_id"]


def test_time_expire_in_the_past_is_orderclosed(wxpay, sandbox):
    past = beijing(datetime.now(UTC) - timedelta(minutes=1))
    args = order_args("NATIVE", time_start=past - timedelta(hours=1), time_expire=past)
    error = _error(lambda: wxpay.order.create(**args))
    assert error.errcode == "ORDERCLOSED"
    assert sandbox.order(args["out_trade_no"]) is None


@pytest.mark.parametrize(
    ("change", "err_code"),
    [
        ({"total_fee": 0}, "LACK_PARAMS"),  # wechatpy drops a falsy 0, so WeChat sees none
        ({"total_fee": -1}, "INVALID_REQUEST"),
        ({"total_fee": "9.9"}, "INVALID_REQUEST"),
        ({"total_fee": 10**12}, "INVALID_REQUEST"),
        ({"out_trade_no": "12345"}, "INVALID_REQUEST"),
        ({"out_trade_no": "x" * 33}, "INVALID_REQUEST"),
        ({"out_trade_no": "订单-123456"}, "INVALID_REQUEST"),
        ({"out_trade_no": "ab cd efg"}, "INVALID_REQUEST"),
        ({"body": "长" * 128}, "INVALID_REQUEST"),
        ({"client_ip": "not-an-ip"}, "INVALID_REQUEST"),
        ({"notify_url": "http://localhost/notify?order=1"}, "INVALID_REQUEST"),
        ({"notify_url": "ftp://localhost/notify"}, "INVALID_REQUEST"),
        ({"fee_type": "USD"}, "INVALID_REQUEST"),
        ({"body": None}, "LACK_PARAMS"),
        ({"notify_url": None}, "LACK_PARAMS"),
    ],
)
def test_invalid_fields_are_refused(wxpay, change, err_code):
    error = _error(lambda: wxpay.order.create(**order_args("NATIVE", **change)))
    assert error.return_code == "SUCCESS" and error.result_code == "FAIL"
    assert error.errcode == err_code, error.errmsg


def test_out_trade_no_takes_wechats_symbols(wxpay):
    result = wxpay.order.create(**order_args("NATIVE", out_trade_no="a_b-c|d*e@f"))
    assert result["result_code"] == "SUCCESS"


def test_a_wrong_key_is_a_signature_error(app, wxpay):
    forger = make_pay(app, key="0" * 32)
    error = _error(lambda: forger.order.create(**order_args("NATIVE")))
    assert (error.return_code, error.return_msg) == ("FAIL", "签名错误")


def test_foreign_appid_and_mch_id_are_refused(app, wxpay):
    other_app = make_pay(app, appid="wx0123456789abcdef")
    error = _error(lambda: other_app.order.create(**order_args("NATIVE")))
    assert error.errcode == "APPID_MCHID_NOT_MATCH"
    nonsense = make_pay(app, appid="nonsense")
    assert _error(lambda: nonsense.order.create(**order_args("NATIVE"))).errcode == (
        "APPID_NOT_EXIST"
    )
    other_merchant = make_pay(app, mch_id="1234567890")
    assert _error(lambda: other_merchant.order.create(**order_args("NATIVE"))).errcode == (
        "MCHID_NOT_EXIST"
    )


def test_an_hmac_signed_request_gets_an_hmac_signed_answer(app, wxpay):
    result = wxpay.order.create(**order_args("NATIVE", sign_type="HMAC-SHA256"))
    assert result["result_code"] == "SUCCESS" and result["sign_type"] == "HMAC-SHA256"
    assert result["sign"] == sign(result, TEST_PAY_KEY, "HMAC-SHA256")


def _post(client, body: bytes):
    response = client.post(UNIFIEDORDER, data=body)
    assert response.status_code == 200
    assert response.content_type.startswith("text/xml")
    return xmltodict.parse(response.get_data())["xml"]


def test_answers_are_signed_md5_and_carry_no_content_type_needs(app, client):
    params = {
        "appid": app.config["WECHAT_APPID"],
        "mch_id": app.config["WECHAT_MCH_ID"],
        "nonce_str": "n" * 32,
        "body": "知识小店-课",
        "out_trade_no": "plain-request-1",
        "total_fee": "1",
        "spbill_create_ip": "127.0.0.1",
        "notify_url": "http://localhost/notify",
        "trade_type": "NATIVE",
        "product_id": "p1",
    }
    answer = _post(client, signed_xml_body(params))
    assert answer["result_code"] == "SUCCESS"
    assert signature_ok(answer, TEST_PAY_KEY)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"<xml><appid>",
        b"{'json': true}",
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 '
        b'"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><xml><a>&lol2;</a></xml>',
        b'<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><a>&xxe;</a></xml>',
        b"<xml><mch_id><x>1</x></mch_id></xml>",
    ],
)
def test_malformed_requests_get_return_code_fail(client, body):
    answer = _post(client, body)
    assert answer["return_code"] == "FAIL" and answer["return_msg"]
    assert "sign" not in answer


def test_a_request_without_sign_is_a_signature_error(app, client):
    body = (
        f"<xml><appid>{app.config['WECHAT_APPID']}</appid>"
        f"<mch_id>{app.config['WECHAT_MCH_ID']}</mch_id></xml>"
    ).encode()
    assert _post(client, body) == {"return_code": "FAIL", "return_msg": "签名错误"}
