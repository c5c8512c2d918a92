"""WeChat Pay's rules for refunds: 申请退款, 查询退款, and the refund notification (§3.3, §6).

A refund is accepted as PROCESSING and becomes SUCCESS SANDBOX_REFUND_DELAY seconds later
(default 0: at once). The outcome is decided when it is accepted, so the notification is
queued then, due at the moment of success; nothing has to wake up to finish a refund.
"""

import re
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from app.models.base import db
from app.sandbox import notify
from app.sandbox import pay_protocol as proto
from app.sandbox.models import SandboxPayRefund
from app.sandbox.pay import (
    OUT_NO,
    PAID_STATES,
    BusinessError,
    api_key,
    check_notify_url,
    fee,
    find_order,
    limit,
    require,
    trade_state,
)
from app.transactions import begin_write

REFUND_WINDOW = timedelta(days=365)
MAX_REFUNDS = 50
QUERY_PAGE = 10  # refundquery lists at most 10 refunds; `offset` pages through more
REFUND_ACCOUNTS = ("REFUND_SOURCE_UNSETTLED_FUNDS", "REFUND_SOURCE_RECHARGE_FUNDS")
RECEIVED_BY = "支付用户零钱"  # refund_recv_accout: where the money went back


def refund_status(refund: SandboxPayRefund, now: datetime) -> str:
    return "SUCCESS" if refund.succeeds_at <= now else "PROCESSING"


def apply_refund(params: dict, now: datetime) -> dict:
    require(params, "out_refund_no", "total_fee", "refund_fee")
    out_refund_no = params["out_refund_no"]
    if len(out_refund_no) > 64 or not OUT_NO.fullmatch(out_refund_no):
        raise BusinessError("PARAM_ERROR", "out_refund_no须是64位以内的数字、大小写字母或_-|*@")
    total_fee = fee(params, "total_fee", "PARAM_ERROR")
    refund_fee = fee(params, "refund_fee", "PARAM_ERROR")
    limit(params, "refund_desc", 80, "PARAM_ERROR")
    if params.get("notify_url"):
        check_notify_url(params["notify_url"], "PARAM_ERROR")
    refund_account = params.get("refund_account") or REFUND_ACCOUNTS[0]
    if refund_account not in REFUND_ACCOUNTS:
        raise BusinessError("PARAM_ERROR", "refund_account参数错误")
    if params.get("refund_fee_type", "CNY") not in ("", "CNY"):
        raise BusinessError("PARAM_ERROR", "refund_fee_type只支持CNY")

    begin_write()
    order = find_order(params)
    db.session.refresh(order, with_for_update=True)  # PostgreSQL: one refund of it at a time
    if trade_state(order, now) not in PAID_STATES:
        raise BusinessError("ORDERNOTEXIST", "订单未支付，不能退款")
    refund = db.session.scalar(
        sa.select(SandboxPayRefund).where(SandboxPayRefund.out_refund_no == out_refund_no)
    )
    if refund is not None:
        # "同一退款单号多次请求只退一笔": the same request again is the same refund.
        if refund.order_id != order.id or refund.refund_fee != refund_fee:
            raise BusinessError("ERROR", "订单金额或退款金额与之前请求不一致，请核实后再试")
    else:
        refund = _new_refund(order, params, total_fee, refund_fee, refund_account, now, "API")
    return {
        "transaction_id": order.transaction_id,
        "out_trade_no": order.out_trade_no,
        "out_refund_no": refund.out_refund_no,
        "refund_id": refund.refund_id,
        "refund_channel": "",
        "refund_fee": refund.refund_fee,
        "settlement_refund_fee": refund.refund_fee,
        "total_fee": order.total_fee,
        "fee_type": "CNY",
        "cash_fee": order.cash_fee,
        "cash_refund_fee": refund.refund_fee,
    }


def refund_from_merchant_platform(
    out_trade_no: str, refund_fee: int, notify_url: str | None, now: datetime
) -> SandboxPayRefund:
    """A refund the merchant makes by hand in 商户平台 or 商家助手, not through the API: WeChat
    makes up the out_refund_no, and notifies the URL set in 商户平台 (refund_request_source
    VENDOR_PLATFORM). The shop has never heard of it until then. Commits."""
    begin_write()
    try:
        order = find_order({"out_trade_no": out_trade_no})
        db.session.refresh(order, with_for_update=True)
        if trade_state(order, now) not in PAID_STATES:
            raise BusinessError("ORDERNOTEXIST", "订单未支付，不能退款")
        params = {
            "out_refund_no": f"{now:%Y%m%d}{secrets.randbelow(10**18):018d}",
            "notify_url": notify_url,
        }
        refund = _new_refund(
            order, params, order.total_fee, refund_fee, REFUND_ACCOUNTS[0], now, "VENDOR_PLATFORM"
        )
    except BusinessError:
        db.session.rollback()
        raise
    db.session.commit()
    return refund


def _new_refund(
    order, params, total_fee, refund_fee, refund_account, now, source
) -> SandboxPayRefund:
    if total_fee != order.total_fee:
        raise BusinessError("PARAM_ERROR", "total_fee与订单金额不一致")
    if now - order.paid_at > REFUND_WINDOW:
        raise BusinessError("TRADE_OVERDUE", "订单已经超过退款期限")
    if len(order.refunds) >= MAX_REFUNDS:
        raise BusinessError("ERROR", f"一笔订单最多退款{MAX_REFUNDS}次")
    if refund_fee > order.total_fee - sum(r.refund_fee for r in order.refunds):
        raise BusinessError("ERROR", "累计退款金额大于支付金额")
    delay = timedelta(seconds=current_app.config["SANDBOX_REFUND_DELAY"])
    refund = SandboxPayRefund(
        order=order,
        out_refund_no=params["out_refund_no"],
        refund_id=f"50{secrets.randbelow(10**27):027d}",  # 29 digits, like WeChat's
        refund_fee=refund_fee,
        refund_desc=params.get("refund_desc") or None,
        refund_account=refund_account,
        notify_url=params.get("notify_url") or None,
        created_at=now,
        succeeds_at=now + delay,
    )
    order.trade_state = "REFUND"
    db.session.add(refund)
    db.session.flush()
    if refund.notify_url:  # WeChat would use the URL set in 商户平台; the sandbox has none
        notify.enqueue(
            "refund",
            order,
            refund.notify_url,
            refund_notification(refund, source),
            refund=refund,
            due=refund.succeeds_at,
        )
    return refund


def refund_notification(refund: SandboxPayRefund, source: str = "API") -> str:
    """退款结果通知: no sign; the details travel encrypted in req_info (§6)."""
    order = refund.order
    details = proto.to_xml(
        {
            "out_refund_no": refund.out_refund_no,
            "out_trade_no": order.out_trade_no,
            "refund_account": refund.refund_account,
            "refund_fee": refund.refund_fee,
            "refund_id": refund.refund_id,
            "refund_recv_accout": RECEIVED_BY,
            "refund_request_source": source,
            "refund_status": "SUCCESS",
            "settlement_refund_fee": refund.refund_fee,
            "settlement_total_fee": order.total_fee,
            "success_time": proto.beijing_text(refund.succeeds_at),
            "total_fee": order.total_fee,
            "transaction_id": order.transaction_id,
        },
        root="root",
    )
    return proto.to_xml(
        {
            "return_code": "SUCCESS",
            "appid": order.appid,
            "mch_id": order.mch_id,
            "nonce_str": proto.nonce_str(),
            "req_info": proto.encrypt_req_info(details, api_key()),
        }
    )


def query_refunds(params: dict, now: datetime) -> dict:
    """refundquery: by refund_id, out_refund_no, transaction_id or out_trade_no, in that order."""
    refunds, order = _find_refunds(params)
    if not refunds:
        raise BusinessError("REFUNDNOTEXIST", "退款订单查询失败")
    fields = {
        "transaction_id": order.transaction_id,
        "out_trade_no": order.out_trade_no,
        "total_fee": order.total_fee,
        "fee_type": "CNY",
        "cash_fee": order.cash_fee,
    }
    offset_text = params.get("offset", "")
    if offset_text and not re.fullmatch(r"[0-9]{1,4}", offset_text):
        raise BusinessError("PARAM_ERROR", "offset须是非负整数")
    offset = int(offset_text or 0)
    page = refunds[offset : offset + QUERY_PAGE]
    if not page:
        raise BusinessError("PARAM_ERROR", "offset超出退款笔数")
    if offset_text or len(refunds) > QUERY_PAGE:
        fields["total_refund_count"] = len(refunds)
    fields["refund_count"] = len(page)
    for n, refund in enumerate(page):
        status = refund_status(refund, now)
        fields.update(
            {
                f"out_refund_no_{n}": refund.out_refund_no,
                f"refund_id_{n}": refund.refund_id,
                f"refund_channel_{n}": "ORIGINAL",
                f"refund_fee_{n}": refund.refund_fee,
                f"settlement_refund_fee_{n}": refund.refund_fee,
                f"refund_status_{n}": status,
                f"refund_account_{n}": refund.refund_account,
                f"refund_recv_accout_{n}": RECEIVED_BY,
            }
        )
        if status == "SUCCESS":
            fields[f"refund_success_time_{n}"] = proto.beijing_text(refund.succeeds_at)
    return fields


def _find_refunds(params: dict):
    for name in ("refund_id", "out_refund_no"):
        if params.get(name):
            column = getattr(SandboxPayRefund, name)
            refund = db.session.scalar(sa.select(SandboxPayRefund).where(column == params[name]))
            return ([refund], refund.order) if refund else ([], None)
    if not (params.get("transaction_id") or params.get("out_trade_no")):
        raise BusinessError(
            "LACK_PARAMS", "缺少参数refund_id、out_refund_no、transaction_id或out_trade_no"
        )
    try:
        order = find_order(params)
    except BusinessError:
        return [], None
    return list(order.refunds), order
