"""The payer's side: the NATIVE phone page and the MWEB H5 cashier, and what orderquery and
closeorder say before and after (§3.2)."""

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
from wechatpy.exceptions import WeChatPayException

from app.sandbox.views import CURRENT_USER_COOKIE
from tests.conftest import path_of
from tests.sandbox.conftest import order_args, pay_on_phone, press_pay_again


def _error(call) -> WeChatPayException:
    with pytest.raises(WeChatPayException) as caught:
        call()
    return caught.value


def _ago(**delta) -> datetime:
    return datetime.now(UTC) - timedelta(**delta)


def test_paying_on_the_phone_page(wxpay, client, sandbox):
    openid = sandbox.user("小明")
    client.set_cookie(CURRENT_USER_COOKIE, openid)
    args = order_args("NATIVE", attach="order=42")
    code_url = wxpay.order.create(**args)["code_url"]

    before = wxpay.order.query(out_trade_no=args["out_trade_no"])
    assert before["trade_state"] == "NOTPAY" and before["trade_state_desc"] == "订单未支付"
    assert "transaction_id" not in before and before["attach"] == "order=42"

    page = client.get(path_of(code_url)).get_data(as_text=True)
    assert "知识小店" in page and "Python 入门课" in page and "¥9.90" in page
    assert "支付" in page and "取消" in page
    assert f'value="{openid}" checked' in page  # the phone's WeChat user pays

    paid = pay_on_phone(client, code_url, openid=openid)
    assert paid.status_code == 200 and "支付成功" in paid.get_data(as_text=True)

    after = wxpay.order.query(out_trade_no=args["out_trade_no"])
    assert after["trade_state"] == "SUCCESS" and after["trade_state_desc"] == "支付成功"
    assert after["openid"] == openid and after["is_subscribe"] == "N"
    assert after["total_fee"] == after["cash_fee"] == "990"
    assert after["bank_type"] == "OTHERS" and after["trade_type"] == "NATIVE"
    assert after["attach"] == "order=42" and after["fee_type"] == "CNY"
    assert len(after["transaction_id"]) == 28 and after["transaction_id"].isdigit()
    assert len(after["time_end"]) == 14
    by_transaction = wxpay.order.query(transaction_id=after["transaction_id"])
    assert by_transaction["out_trade_no"] == args["out_trade_no"]


def test_without_a_current_user_the_page_lets_you_pick_or_create_one(wxpay, client):
    code_url = wxpay.order.create(**order_args("NATIVE"))["code_url"]
    page = client.get(path_of(code_url)).get_data(as_text=True)
    assert 'name="new_nickname"' in page and "required" in page

    paid = pay_on_phone(client, code_url, new_nickname="新读者").get_data(as_text=True)
    assert "支付成功" in paid and "新读者" in paid
    openid = client.get_cookie(CURRENT_USER_COOKIE).value  # now the phone's WeChat user
    index = client.get("/sandbox/").get_data(as_text=True)
    assert "新读者 <em>（当前）</em>" in index and openid in index


def test_paying_needs_someone_to_pay(wxpay, client, sandbox):
    args = order_args("NATIVE")
    code_url = wxpay.order.create(**args)["code_url"]
    assert pay_on_phone(client, code_url).status_code == 400
    assert sandbox.order(args["out_trade_no"]).trade_state == "NOTPAY"


def test_cancelling_changes_nothing(wxpay, client, sandbox):
    openid = sandbox.user()
    args = order_args("NATIVE")
    code_url = wxpay.order.create(**args)["code_url"]
    response = pay_on_phone(client, code_url, decision="cancel", openid=openid)
    assert "已取消" in response.get_data(as_text=True)
    assert wxpay.order.query(out_trade_no=args["out_trade_no"])["trade_state"] == "NOTPAY"
    assert sandbox.notifications() == []


def test_an_order_is_paid_once(wxpay, client, sandbox):
    openid = sandbox.user()
    args = order_args("NATIVE")
    code_url = wxpay.order.create(**args)["code_url"]
    pay_on_phone(client, code_url, openid=openid)
    first = wxpay.order.query(out_trade_no=args["out_trade_no"])["transaction_id"]

    page = client.get(path_of(code_url)).get_data(as_text=True)
    assert "该订单已支付" in page and 'value="pay"' not in page
    again = press_pay_again(client, code_url, openid)
    assert "该订单已支付" in again.get_data(as_text=True)
    assert wxpay.order.query(out_trade_no=args["out_trade_no"])["transaction_id"] == first
    assert len(sandbox.notifications()) == 1

    assert _error(lambda: wxpay.order.create(**args)).errcode == "ORDERPAID"
    assert _error(lambda: wxpay.order.close(args["out_trade_no"])).errcode == "ORDERPAID"


def test_closed_orders_cannot_be_paid_or_reordered(wxpay, client, sandbox):
    openid = sandbox.user()
    args = order_args("NATIVE")
    code_url = wxpay.order.create(**args)["code_url"]
    closed = wxpay.order.close(args["out_trade_no"])
    assert closed["result_code"] == "SUCCESS"
    assert wxpay.order.query(out_trade_no=args["out_trade_no"])["trade_state"] == "CLOSED"

    page = client.get(path_of(code_url)).get_data(as_text=True)
    assert "订单已关闭" in page and 'value="pay"' not in page
    assert "订单已关闭" in press_pay_again(client, code_url, openid).get_data(as_text=True)
    assert sandbox.order(args["out_trade_no"]).trade_state == "CLOSED"
    assert _error(lambda: wxpay.order.create(**args)).errcode == "ORDERCLOSED"
    assert _error(lambda: wxpay.order.close(args["out_trade_no"])).errcode == "ORDERCLOSED"


def test_an_expired_order_reads_closed_and_cannot_be_paid(wxpay, client, sandbox):
    openid = sandbox.user()
    args = order_args("NATIVE")
    code_url = wxpay.order.create(**args)["code_url"]
    sandbox.update_order(args["out_trade_no"], expires_at=_ago(seconds=1))

    assert wxpay.order.query(out_trade_no=args["out_trade_no"])["trade_state"] == "CLOSED"
    assert "订单已过期" in client.get(path_of(code_url)).get_data(as_text=True)
    assert "订单已过期" in press_pay_again(client, code_url, openid).get_data(as_text=True)
    assert sandbox.order(args["out_trade_no"]).trade_state == "NOTPAY"
    assert _error(lambda: wxpay.order.create(**args)).errcode == "ORDERCLOSED"


def test_an_expired_code_url_cannot_be_paid(wxpay, client, sandbox):
    openid = sandbox.user()
    args = order_args("NATIVE")
    code_url = wxpay.order.create(**args)["code_url"]
    sandbox.update_order(args["out_trade_no"], prepay_expires_at=_ago(seconds=1))
    response = press_pay_again(client, code_url, openid)
    assert "支付已过期" in response.get_data(as_text=True)
    assert wxpay.order.query(out_trade_no=args["out_trade_no"])["trade_state"] == "NOTPAY"


def test_unknown_or_foreign_tokens_are_not_found(wxpay, client):
    assert client.get("/sandbox/pay/scan/nope").status_code == 404
    assert client.get("/sandbox/pay/h5?token=nope").status_code == 404
    mweb_url = wxpay.order.create(**order_args("MWEB"))["mweb_url"]
    token = mweb_url.split("token=")[1]
    assert client.get(f"/sandbox/pay/scan/{token}").status_code == 404  # not a NATIVE order


def test_orderquery_and_closeorder_of_an_unknown_order(wxpay):
    error = _error(lambda: wxpay.order.query(out_trade_no="never-ordered"))
    assert error.errcode == "ORDERNOTEXIST"
    assert _error(lambda: wxpay.order.query()).errcode == "LACK_PARAMS"
    assert _error(lambda: wxpay.order.close("never-ordered")).errcode == "ORDERNOTEXIST"


def test_closeorder_can_require_a_minimum_age(app, wxpay, sandbox):
    app.config["SANDBOX_CLOSE_MIN_AGE"] = 300
    args = order_args("NATIVE")
    wxpay.order.create(**args)
    error = _error(lambda: wxpay.order.close(args["out_trade_no"]))
    assert error.errcode == "INVALID_REQUEST" and "300" in error.errmsg

    sandbox.update_order(args["out_trade_no"], created_at=_ago(minutes=5))
    assert wxpay.order.close(args["out_trade_no"])["result_code"] == "SUCCESS"


@pytest.mark.parametrize("joiner", ["&", "?"])
def test_the_h5_cashier_returns_to_redirect_url(wxpay, client, sandbox, joiner):
    openid = sandbox.user()
    client.set_cookie(CURRENT_USER_COOKIE, openid)
    args = order_args("MWEB")
    mweb_url = wxpay.order.create(**args)["mweb_url"]
    back = "http://localhost/orders/42?from=h5&x=1"
    url = f"{mweb_url}{joiner}redirect_url={quote(back, safe='')}"

    page = client.get(path_of(url)).get_data(as_text=True)
    assert "¥9.90" in page and 'value="pay"' in page
    response = pay_on_phone(client, url, openid=openid)
    assert response.status_code == 302 and response.location == back
    assert wxpay.order.query(out_trade_no=args["out_trade_no"])["trade_state"] == "SUCCESS"


def test_the_h5_cashier_cancel_returns_too_but_only_to_http(wxpay, client, sandbox):
    openid = sandbox.user()
    mweb_url = wxpay.order.create(**order_args("MWEB"))["mweb_url"]
    back = "http://localhost/orders/42"
    response = pay_on_phone(
        client, f"{mweb_url}&redirect_url={quote(back)}", decision="cancel", openid=openid
    )
    assert response.status_code == 302 and response.location == back

    sneaky = f"{mweb_url}&redirect_url={quote('javascript:alert(1)')}"
    response = pay_on_phone(client, sneaky, decision="cancel", openid=openid)
    assert response.status_code == 200 and "已取消" in response.get_data(as_text=True)
    assert "javascript:" not in response.get_data(as_text=True)


def test_the_h5_link_lives_five_minutes(wxpay, client, sandbox):
    args = order_args("MWEB")
    mweb_url = wxpay.order.create(**args)["mweb_url"]
    sandbox.update_order(args["out_trade_no"], mweb_expires_at=_ago(seconds=1))
    page = client.get(path_of(mweb_url)).get_data(as_text=True)
    assert "支付链接已过期" in page and 'value="pay"' not in page

    fresh_url = wxpay.order.create(**args)["mweb_url"]  # calling again renews the link
    assert 'value="pay"' in client.get(path_of(fresh_url)).get_data(as_text=True)


def test_the_page_names_the_payee_from_the_body(wxpay, client):
    code_url = wxpay.order.create(**order_args("NATIVE", body="一本书"))["code_url"]
    page = client.get(path_of(code_url)).get_data(as_text=True)
    assert "商户" in page and "一本书" in page


def test_the_index_lists_orders_and_their_notifications(wxpay, client, sandbox):
    openid = sandbox.user()
    args = order_args("NATIVE")
    code_url = wxpay.order.create(**args)["code_url"]
    page = client.get("/sandbox/").get_data(as_text=True)
    assert args["out_trade_no"] in page and "NOTPAY" in page and "通知：未发送" in page

    pay_on_phone(client, code_url, openid=openid)
    page = client.get("/sandbox/").get_data(as_text=True)
    assert "SUCCESS" in page and "待发送，已尝试 0 次" in page

    assert sandbox.deliver() == 1
    page = client.get("/sandbox/").get_data(as_text=True)
    assert "已送达（第 1 次）" in page and "HTTP 200" in page
