"""申请退款, 查询退款, the refund notification and 下载对账单 (§3.3, §6, §7)."""

import gzip
from datetime import UTC, datetime, timedelta

import pytest
import xmltodict
from wechatpy.exceptions import WeChatPayException

from app.extensions import db
from app.sandbox.models import SandboxPayRefund
from app.sandbox.pay_protocol import BEIJING
from tests.sandbox.conftest import SINK_URL, order_args, paid_order, signed_xml_body


def _error(call) -> WeChatPayException:
    with pytest.raises(WeChatPayException) as caught:
        call()
    return caught.value


@pytest.fixture
def paid(wxpay, client, sandbox):
    return paid_order(wxpay, client, sandbox)


def test_refund_then_query(wxpay, paid):
    result = wxpay.refund.apply(
        total_fee=990, refund_fee=300, out_refund_no="R1", out_trade_no=paid["out_trade_no"]
    )
    assert result["result_code"] == "SUCCESS"
    assert result["out_refund_no"] == "R1" and len(result["refund_id"]) == 29
    assert result["refund_fee"] == "300" and result["total_fee"] == "990"
    assert result["cash_refund_fee"] == "300"

    order = wxpay.order.query(out_trade_no=paid["out_trade_no"])
    assert order["trade_state"] == "REFUND"

    query = wxpay.refund.query(out_refund_no="R1")
    assert query["refund_count"] == "1" and query["out_refund_no_0"] == "R1"
    assert query["refund_status_0"] == "SUCCESS" and query["refund_fee_0"] == "300"
    assert query["refund_id_0"] == result["refund_id"]
    assert query["refund_success_time_0"] and query["refund_recv_accout_0"]
    assert query["transaction_id"] == order["transaction_id"]

    for key in ("refund_id", "transaction_id"):
        value = result[key] if key == "refund_id" else order["transaction_id"]
        assert wxpay.refund.query(**{key: value})["out_refund_no_0"] == "R1"


def test_partial_refunds_add_up_to_the_total(wxpay, paid):
    no = paid["out_trade_no"]
    wxpay.refund.apply(total_fee=990, refund_fee=500, out_refund_no="R1", out_trade_no=no)
    wxpay.refund.apply(total_fee=990, refund_fee=490, out_refund_no="R2", out_trade_no=no)
    too_much = _error(
        lambda: wxpay.refund.apply(total_fee=990, refund_fee=1, out_refund_no="R3", out_trade_no=no)
    )
    assert too_much.errcode == "ERROR"
    listed = wxpay.refund.query(out_trade_no=no)
    assert listed["refund_count"] == "2"
    assert [listed["out_refund_no_0"], listed["out_refund_no_1"]] == ["R1", "R2"]


def test_the_same_out_refund_no_refunds_once(wxpay, paid):
    no = paid["out_trade_no"]
    first = wxpay.refund.apply(total_fee=990, refund_fee=990, out_refund_no="R1", out_trade_no=no)
    again = wxpay.refund.apply(total_fee=990, refund_fee=990, out_refund_no="R1", out_trade_no=no)
    assert again["refund_id"] == first["refund_id"]
    assert wxpay.refund.query(out_trade_no=no)["refund_count"] == "1"
    changed = _error(
        lambda: wxpay.refund.apply(total_fee=990, refund_fee=1, out_refund_no="R1", out_trade_no=no)
    )
    assert changed.errcode == "ERROR" and "不一致" in changed.errmsg


def test_refunds_need_a_paid_order_and_its_real_total(wxpay, paid):
    no = paid["out_trade_no"]
    wrong_total = _error(
        lambda: wxpay.refund.apply(total_fee=1, refund_fee=1, out_refund_no="R1", out_trade_no=no)
    )
    assert wrong_total.errcode == "PARAM_ERROR"
    unknown = _error(
        lambda: wxpay.refund.apply(
            total_fee=1, refund_fee=1, out_refund_no="R2", out_trade_no="never-ordered"
        )
    )
    assert unknown.errcode == "ORDERNOTEXIST"
    bad_no = _error(
        lambda: wxpay.refund.apply(
            total_fee=990, refund_fee=1, out_refund_no="退款1", out_trade_no=no
        )
    )
    assert bad_no.errcode == "PARAM_ERROR"


def test_an_unpaid_order_cannot_be_refunded(wxpay):
    args = order_args("NATIVE")
    wxpay.order.create(**args)
    error = _error(
        lambda: wxpay.refund.apply(
            total_fee=990, refund_fee=990, out_refund_no="R1", out_trade_no=args["out_trade_no"]
        )
    )
    assert error.errcode == "ORDERNOTEXIST"


def test_refundquery_without_refunds(wxpay, paid):
    assert _error(lambda: wxpay.refund.query(out_refund_no="none")).errcode == "REFUNDNOTEXIST"
    error = _error(lambda: wxpay.refund.query(out_trade_no=paid["out_trade_no"]))
    assert error.errcode == "REFUNDNOTEXIST"
    assert _error(lambda: wxpay.refund.query()).errcode == "LACK_PARAMS"


def test_the_refund_notification_decrypts_with_wechatpy(wxpay, paid, sink, sandbox):
    result = wxpay.refund.apply(
        total_fee=990,
        refund_fee=990,
        out_refund_no="R1",
        out_trade_no=paid["out_trade_no"],
        notify_url=SINK_URL,
    )
    sink.bodies.clear()  # the payment notification, if it was delivered
    assert [row.kind for row in sandbox.notifications("refund")] == ["refund"]
    assert sandbox.deliver() == 2  # the payment's and the refund's
    refund_body = next(body for body in sink.bodies if b"req_info" in body)

    outer = xmltodict.parse(refund_body)["xml"]
    assert "sign" not in outer and outer["return_code"] == "SUCCESS"
    details = wxpay.parse_refund_notify_result(refund_body)
    assert details["refund_status"] == "SUCCESS"
    assert details["out_refund_no"] == "R1" and details["refund_id"] == result["refund_id"]
    assert details["out_trade_no"] == paid["out_trade_no"]
    assert details["refund_fee"] == details["total_fee"] == 990
    assert details["refund_recv_accout"] and details["refund_request_source"] == "API"
    assert details["refund_account"] == "REFUND_SOURCE_UNSETTLED_FUNDS"
    datetime.strptime(details["success_time"], "%Y-%m-%d %H:%M:%S")


def test_without_notify_url_there_is_no_refund_notification(wxpay, paid, sandbox):
    no = paid["out_trade_no"]
    wxpay.refund.apply(total_fee=990, refund_fee=990, out_refund_no="R1", out_trade_no=no)
    assert sandbox.notifications("refund") == []


def test_a_delayed_refund_is_processing_and_notifies_when_it_succeeds(
    app, wxpay, paid, sink, sandbox
):
    app.config["SANDBOX_REFUND_DELAY"] = 60
    no = paid["out_trade_no"]
    sandbox.deliver()  # the payment notification
    wxpay.refund.apply(
        total_fee=990, refund_fee=990, out_refund_no="R1", out_trade_no=no, notify_url=SINK_URL
    )
    assert wxpay.refund.query(out_refund_no="R1")["refund_status_0"] == "PROCESSING"
    assert "refund_success_time_0" not in wxpay.refund.query(out_refund_no="R1")
    assert sandbox.deliver() == 0

    assert sandbox.deliver(now=datetime.now(UTC) + timedelta(seconds=61)) == 1
    assert wxpay.parse_refund_notify_result(sink.bodies[-1])["out_refund_no"] == "R1"
    with app.app_context():
        refund = db.session.query(SandboxPayRefund).one()
        refund.succeeds_at = datetime.now(UTC) - timedelta(seconds=1)
        db.session.commit()
    assert wxpay.refund.query(out_refund_no="R1")["refund_status_0"] == "SUCCESS"


def _row(header: list[str], line: str) -> dict:
    return dict(zip(header, (cell[1:] for cell in line.split(",")), strict=True))


def _today() -> str:
    return datetime.now(BEIJING).strftime("%Y%m%d")


def test_the_bill_lists_payments_and_refunds_in_yuan(wxpay, paid, client, sandbox):
    no = paid["out_trade_no"]
    wxpay.refund.apply(total_fee=990, refund_fee=300, out_refund_no="R1", out_trade_no=no)
    other = paid_order(wxpay, client, sandbox, total_fee=1)

    bill = wxpay.tools.download_bill(_today())
    assert isinstance(bill, str)
    lines = bill.splitlines()
    header = lines[0].split(",")
    assert header[:3] == ["交易时间", "公众账号ID", "商户号"]
    rows = [_row(header, line) for line in lines[1:4]]
    assert all(cell.startswith("`") for line in lines[1:4] for cell in line.split(","))
    by_state = {(row["商户订单号"], row["交易状态"]): row for row in rows}
    payment = by_state[(no, "SUCCESS")]
    assert payment["应结订单金额"] == "9.90" and payment["用户标识"] == paid["payer"]
    assert payment["商品名称"] == "知识小店-Python 入门课"
    refund = by_state[(no, "REFUND")]
    assert refund["退款金额"] == "3.00" and refund["商户退款单号"] == "R1"
    assert by_state[(other["out_trade_no"], "SUCCESS")]["订单金额"] == "0.01"

    assert lines[4].startswith("总交易单数,")
    summary = _row(lines[4].split(","), lines[5])
    assert summary["总交易单数"] == "3"
    assert summary["应结订单总金额"] == "9.91" and summary["退款总金额"] == "3.00"

    only_refunds = wxpay.tools.download_bill(_today(), bill_type="REFUND")
    assert len(only_refunds.splitlines()) == 4


def test_no_bill_and_bad_dates(app, wxpay, client):
    error = _error(lambda: wxpay.tools.download_bill(_today()))
    assert (error.return_code, error.return_msg) == ("FAIL", "No Bill Exist")
    tomorrow = (datetime.now(BEIJING) + timedelta(days=1)).strftime("%Y%m%d")
    assert _error(lambda: wxpay.tools.download_bill(tomorrow)).return_msg == "invalid bill_date"
    old = (datetime.now(BEIJING) - timedelta(days=100)).strftime("%Y%m%d")
    assert _error(lambda: wxpay.tools.download_bill(old)).return_msg == "invalid bill_date"
    assert _error(lambda: wxpay.tools.download_bill("2024-1-1")).return_msg == "invalid bill_date"

    params = {
        "appid": app.config["WECHAT_APPID"],
        "mch_id": app.config["WECHAT_MCH_ID"],
        "nonce_str": "n" * 32,
        "bill_date": _today(),
    }
    answer = xmltodict.parse(
        client.post("/sandbox/pay/pay/downloadbill", data=signed_xml_body(params)).data
    )["xml"]
    assert answer == {"return_code": "FAIL", "return_msg": "No Bill Exist", "error_code": "20002"}


def test_the_bill_can_be_gzipped(app, wxpay, paid, client):
    params = {
        "appid": app.config["WECHAT_APPID"],
        "mch_id": app.config["WECHAT_MCH_ID"],
        "nonce_str": "n" * 32,
        "bill_date": _today(),
        "tar_type": "GZIP",
    }
    response = client.post("/sandbox/pay/pay/downloadbill", data=signed_xml_body(params))
    assert gzip.decompress(response.data).decode().startswith("交易时间,")


def test_a_merchant_platform_refund_notifies_with_its_own_refund_number(
    app, wxpay, paid, sink, sandbox
):
    from app.models.base import utcnow
    from app.sandbox.pay_refunds import refund_from_merchant_platform

    sandbox.deliver()  # the payment notification
    sink.bodies.clear()
    with app.app_context():
        made = refund_from_merchant_platform(paid["out_trade_no"], 300, SINK_URL, utcnow())
        out_refund_no = made.out_refund_no
    assert sandbox.deliver() == 1
    details = wxpay.parse_refund_notify_result(sink.bodies[-1])
    assert details["out_refund_no"] == out_refund_no and details["refund_fee"] == 300
    assert details["refund_request_source"] == "VENDOR_PLATFORM"
    assert details["out_trade_no"] == paid["out_trade_no"]
    listed = wxpay.refund.query(out_trade_no=paid["out_trade_no"])
    assert listed["out_refund_no_0"] == out_refund_no


def test_the_platform_refund_command(app, wxpay, paid):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["sandbox", "platform-refund", paid["out_trade_no"], "--amount", "1.00"]
    )
    assert result.exit_code == 0, result.output
    assert wxpay.refund.query(out_trade_no=paid["out_trade_no"])["refund_fee_0"] == "100"
    unpaid = runner.invoke(args=["sandbox", "platform-refund", "nope", "--amount", "1.00"])
    assert unpaid.exit_code != 0 and "订单不存在" in unpaid.output
