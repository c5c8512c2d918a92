"""Parsing WeChat's daily bill (docs/wechat-protocol.md §7)."""

from app.payments.wechatpay_v2 import parse_bill

BILL = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,"
    "付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,"
    "退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注\r\n"
    "`2026-11-24 13:51:31,`wx1,`1900000109,`,`,`4200000612032130748613220688,`20261124135130abc,"
    "`oUser,`NATIVE,`SUCCESS,`OTHERS,`CNY,`17.90,`2.00,`0,`0,`0.00,`0.00,`,`,`课,`,`0.00000,"
    "`0.60%,`19.90,`0.00,`\r\n"
    "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\r\n"
    "`1,`17.90,`0.00,`0.00,`0.00000,`19.90,`0.00\r\n"
)


def test_the_order_amount_is_the_total_fee_not_what_is_left_after_coupons():
    [row] = parse_bill(BILL)
    assert row.out_trade_no == "20261124135130abc"
    assert row.transaction_id == "4200000612032130748613220688"
    assert row.trade_state == "SUCCESS"
    assert row.amount_fen == 1990
    assert row.refund_fen == 0 and row.out_refund_no is None


def test_an_empty_bill_has_no_rows():
    assert parse_bill("") == []
