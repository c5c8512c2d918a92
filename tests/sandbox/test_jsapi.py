"""JSAPI: the WeixinJSBridge stand-in and the paySign it checks (§7)."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.sandbox.conftest import make_pay, order_args

CHECK = "/sandbox/pay/jsapi/check"
PAY = "/sandbox/pay/jsapi/pay"


@pytest.fixture
def jsapi_order(wxpay, sandbox):
    """A JSAPI order and the parameters the shop's page hands to getBrandWCPayRequest."""
    openid = sandbox.user("小红")
    args = order_args("JSAPI", user_id=openid, body="知识小店-专栏")
    prepay_id = wxpay.order.create(**args)["prepay_id"]
    params = wxpay.jsapi.get_jsapi_params(prepay_id)
    return {"args": args, "openid": openid, "prepay_id": prepay_id, "params": params}


def test_the_bridge_script_is_served(client):
    response = client.get("/sandbox/pay/jsbridge.js")
    assert response.status_code == 200
    assert response.content_type.startswith("text/javascript")
    script = response.get_data(as_text=True)
    assert "if (window.WeixinJSBridge)" in script  # leaves real WeChat's bridge alone
    assert "window.WeixinJSBridge = {" in script and '"WeixinJSBridgeReady"' in script
    assert f'"{CHECK}"' in script and f'"{PAY}"' in script
    for outcome in ("ok", "cancel", "fail"):
        assert f'"{outcome}"' in script or f'finish("{outcome}"' in script


def test_check_then_pay_as_the_orders_openid(wxpay, client, jsapi_order, sandbox):
    params = jsapi_order["params"]
    assert set(params) == {"appId", "timeStamp", "nonceStr", "package", "signType", "paySign"}
    info = client.post(CHECK, json=params).get_json()
    assert info == {
        "ok": True,
        "payee": "知识小店",
        "body": "知识小店-专栏",
        "total_fee": 990,
        "amount": "¥9.90",
    }
    assert client.post(PAY, json=params).get_json() == {"ok": True}

    query = wxpay.order.query(out_trade_no=jsapi_order["args"]["out_trade_no"])
    assert query["trade_state"] == "SUCCESS" and query["trade_type"] == "JSAPI"
    assert query["openid"] == jsapi_order["openid"]
    assert [row.kind for row in sandbox.notifications()] == ["payment"]

    again = client.post(PAY, json=params).get_json()
    assert again["ok"] is False and "已支付" in again["message"]


def test_a_bad_pay_sign_fails_visibly(client, jsapi_order, sandbox):
    params = {**jsapi_order["params"], "paySign": "0" * 32}
    for url in (CHECK, PAY):
        answer = client.post(url, json=params).get_json()
        assert answer == {"ok": False, "message": "支付验证签名失败"}
    changed = {**jsapi_order["params"], "nonceStr": "another"}  # signed over the nonce too
    assert client.post(PAY, json=changed).get_json()["ok"] is False
    assert sandbox.order(jsapi_order["args"]["out_trade_no"]).trade_state == "NOTPAY"


def test_a_signature_from_another_key_fails(app, client, jsapi_order):
    forged = make_pay(app, key="1" * 32).jsapi.get_jsapi_params(jsapi_order["prepay_id"])
    assert client.post(PAY, json=forged).get_json()["message"] == "支付验证签名失败"


def test_values_must_be_strings_and_present(client, jsapi_order):
    params = jsapi_order["params"]
    as_number = {**params, "timeStamp": int(params["timeStamp"])}
    assert "timeStamp" in client.post(CHECK, json=as_number).get_json()["message"]
    missing = {k: v for k, v in params.items() if k != "package"}
    assert "package" in client.post(CHECK, json=missing).get_json()["message"]
    assert client.post(CHECK, data="not json").status_code == 400
    assert client.post(CHECK, json=["a"]).status_code == 400


def test_an_expired_or_unknown_prepay_fails(wxpay, client, jsapi_order, sandbox):
    unknown = wxpay.jsapi.get_jsapi_params("wx" + "0" * 34)
    assert "prepay_id" in client.post(CHECK, json=unknown).get_json()["message"]

    past = datetime.now(UTC) - timedelta(seconds=1)
    sandbox.update_order(jsapi_order["args"]["out_trade_no"], prepay_expires_at=past)
    answer = client.post(PAY, json=jsapi_order["params"]).get_json()
    assert answer["ok"] is False and "过期" in answer["message"]


def test_only_jsapi_orders_are_paid_through_the_bridge(wxpay, client):
    prepay_id = wxpay.order.create(**order_args("NATIVE"))["prepay_id"]
    params = wxpay.jsapi.get_jsapi_params(prepay_id)
    assert "JSAPI" in client.post(PAY, json=params).get_json()["message"]
