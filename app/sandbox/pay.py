"""WeChat Pay's rules for orders: 统一下单, 查询订单, 关闭订单, and a payer paying.

Plain functions over the sandbox tables. The views hand them the request's fields once the
XML is parsed and `authenticate` has passed; errors carry WeChat's err_code
(docs/wechat-protocol.md §3.4). Refunds are in pay_refunds, bills in pay_bill.
"""

import ipaddress
import json
import re
import secrets
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from app.models.base import db, utcnow
from app.sandbox import notify
from app.sandbox import oauth as sandbox_oauth
from app.sandbox import pay_protocol as proto
from app.sandbox.models import SandboxPayNotification, SandboxPayOrder
from app.transactions import begin_write

PREPAY_LIFETIME = timedelta(hours=2)  # prepay_id and code_url
MWEB_LIFETIME = timedelta(minutes=5)
# Fits a 32-bit column on every database; far above what a knowledge shop charges.
MAX_FEE = 1_000_000_000
TRADE_TYPES = ("JSAPI", "NATIVE", "MWEB")
PAID_STATES = ("SUCCESS", "REFUND")
STATE_DESC = {
    "NOTPAY": "订单未支付",
    "SUCCESS": "支付成功",
    "CLOSED": "订单已关闭",
    "REFUND": "订单发生过退款，退款详情请查询退款单",
}
OUT_NO = re.compile(r"[0-9A-Za-z_\-|*@]+")
# A real appid is "wx" and 16 letters or digits: such an appid could belong to another account.
APPID_SHAPE = re.compile(r"wx[0-9A-Za-z]{16}")

_NOT_COMPARED = {"nonce_str", "sign", "spbill_create_ip"}


class ProtocolFailure(Exception):
    """Answered with return_code FAIL and this return_msg (unsigned)."""

    def __init__(self, return_msg: str):
        super().__init__(return_msg)
        self.return_msg = return_msg


class BusinessError(Exception):
    """Answered with return_code SUCCESS, result_code FAIL, err_code and err_code_des."""

    def __init__(self, err_code: str, err_code_des: str):
        super().__init__(f"{err_code}: {err_code_des}")
        self.err_code = err_code
        self.err_code_des = err_code_des


class PaymentRefused(Exception):
    """The payer cannot pay this order (the pay pages and the JS bridge show the message)."""


def api_key() -> str:
    return current_app.config["WECHAT_PAY_API_KEY"]


def authenticate(params: dict) -> None:
    """The merchant first (the key is theirs), then the signature, then the appid."""
    config = current_app.config
    sign_type = params.get("sign_type") or "MD5"
    if sign_type not in proto.SIGN_TYPES:
        raise ProtocolFailure("sign_type参数格式错误")
    if not params.get("mch_id"):
        raise BusinessError("LACK_PARAMS", "缺少参数mch_id")
    if params["mch_id"] != config["WECHAT_MCH_ID"]:
        raise BusinessError("MCHID_NOT_EXIST", "mch_id不存在")
    if not proto.signature_ok(params, api_key(), sign_type):
        raise ProtocolFailure("签名错误")
    appid = params.get("appid", "")
    if not appid:
        raise BusinessError("LACK_PARAMS", "缺少参数appid")
    if appid != config["WECHAT_APPID"]:
        if APPID_SHAPE.fullmatch(appid):
            raise BusinessError("APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
        raise BusinessError("APPID_NOT_EXIST", "appid不存在")


# --- checks on fields -------------------------------------------------------------------------


def require(params: dict, *names: str) -> None:
    for name in names:
        if not params.get(name):
            raise BusinessError("LACK_PARAMS", f"缺少参数{name}")


def fee(params: dict, name: str, err_code: str) -> int:
    value = params[name]
    if not re.fullmatch(r"[1-9][0-9]{0,9}", value) or int(value) > MAX_FEE:
        raise BusinessError(err_code, f"{name}必须是正整数（单位：分），且不超过单笔限额")
    return int(value)


def limit(params: dict, name: str, max_chars: int, err_code: str) -> None:
    if len(params.get(name, "")) > max_chars:
        raise BusinessError(err_code, f"{name}不能超过{max_chars}个字符")


def check_notify_url(url: str, err_code: str) -> None:
    parts = urlsplit(url)
    if (
        len(url) > 256
        or parts.scheme not in ("http", "https")
        or not parts.netloc
        or parts.query
        or parts.fragment
    ):
        raise BusinessError(err_code, "notify_url须是不带参数的http(s)绝对地址，最长256个字符")


def _client_ip(params: dict) -> None:
    try:
        ipaddress.ip_address(params["spbill_create_ip"])
    except ValueError:
        raise BusinessError("INVALID_REQUEST", "spbill_create_ip须是IPv4或IPv6地址") from None


def _time_field(params: dict, name: str) -> datetime | None:
    if not params.get(name):
        return None
    try:
        return proto.parse_beijing_stamp(params[name])
    except ValueError:
        raise BusinessError("INVALID_REQUEST", f"{name}须是yyyyMMddHHmmss格式的北京时间") from None


def _check_trade_type(params: dict) -> None:
    trade_type = params["trade_type"]
    if trade_type == "APP":
        raise BusinessError("NOAUTH", "商户无此接口权限（沙箱只模拟JSAPI、NATIVE和MWEB）")
    if trade_type not in TRADE_TYPES:
        raise BusinessError("INVALID_REQUEST", "trade_type参数错误")
    if trade_type == "NATIVE":
        require(params, "product_id")
        limit(params, "product_id", 32, "INVALID_REQUEST")
    if trade_type == "JSAPI":
        require(params, "openid")
        if sandbox_oauth.find_user(params["openid"]) is None:
            # Real WeChat knows every openid under the appid; the sandbox knows its test users.
            raise BusinessError("INVALID_REQUEST", "appid和openid不匹配")
    if trade_type == "MWEB":
        require(params, "scene_info")
        try:
            scene = json.loads(params["scene_info"])
        except ValueError:
            scene = None
        if not isinstance(scene, dict) or not isinstance(scene.get("h5_info"), dict):
            raise BusinessError("INVALID_REQUEST", 'scene_info须是含"h5_info"的JSON对象')


def _compared(params: dict) -> dict:
    """The fields a re-entry must repeat: all but the per-call nonce, sign and client IP.

    The payer's IP changes between attempts (another network, another device), so WeChat's
    "参数值与原请求一致" is taken to mean the order's own fields.
    """
    fields = {name: value for name, value in params.items() if value and name not in _NOT_COMPARED}
    if fields.get("sign_type") == "MD5":
        del fields["sign_type"]  # the default, whether sent or not
    return fields


# --- 统一下单 ---------------------------------------------------------------------------------


def unified_order(params: dict, now: datetime) -> SandboxPayOrder:
    require(params, "body", "out_trade_no", "total_fee", "spbill_create_ip", "notify_url")
    require(params, "trade_type")
    out_trade_no = params["out_trade_no"]
    if not (6 <= len(out_trade_no) <= 32 and OUT_NO.fullmatch(out_trade_no)):
        raise BusinessError("INVALID_REQUEST", "out_trade_no须是6到32位的数字、大小写字母或_-|*@")
    total_fee = fee(params, "total_fee", "INVALID_REQUEST")
    if params.get("fee_type", "CNY") not in ("", "CNY"):
        raise BusinessError("INVALID_REQUEST", "fee_type只支持CNY")
    for name, max_chars in (("body", 127), ("attach", 127), ("device_info", 32)):
        limit(params, name, max_chars, "INVALID_REQUEST")
    limit(params, "openid", 128, "INVALID_REQUEST")
    limit(params, "spbill_create_ip", 64, "INVALID_REQUEST")
    _client_ip(params)
    check_notify_url(params["notify_url"], "INVALID_REQUEST")
    _time_field(params, "time_start")
    expires_at = _time_field(params, "time_expire")
    _check_trade_type(params)

    begin_write()
    order = db.session.scalar(
        sa.select(SandboxPayOrder).where(SandboxPayOrder.out_trade_no == out_trade_no)
    )
    if order is not None:
        _reenter(order, params, now)
    else:
        if expires_at is not None and expires_at <= now:
            raise BusinessError("ORDERCLOSED", "订单已过期：time_expire早于当前时间")
        order = _create(params, total_fee, expires_at, now)
    if order.trade_type == "MWEB":
        order.mweb_expires_at = now + MWEB_LIFETIME  # every call hands out a fresh 5-minute link
    try:
        db.session.flush()
    except IntegrityError:
        # The same out_trade_no arrived twice at once: WeChat's answer is "call again".
        raise BusinessError("SYSTEMERROR", "系统超时，请用相同参数再次调用") from None
    return order


def _reenter(order: SandboxPayOrder, params: dict, now: datetime) -> None:
    state = trade_state(order, now)
    if state in PAID_STATES:
        raise BusinessError("ORDERPAID", "该订单已支付")
    if state == "CLOSED":
        raise BusinessError("ORDERCLOSED", "订单已关闭")
    if json.loads(order.request_params) != _compared(params):
        raise BusinessError("INVALID_REQUEST", "订单重入时，要求参数值与原请求一致")
    if order.prepay_expires_at <= now:
        _issue_prepay(order, now)


def _create(params: dict, total_fee: int, expires_at, now: datetime) -> SandboxPayOrder:
    order = SandboxPayOrder(
        appid=params["appid"],
        mch_id=params["mch_id"],
        out_trade_no=params["out_trade_no"],
        body=params["body"],
        attach=params.get("attach") or None,
        device_info=params.get("device_info") or None,
        total_fee=total_fee,
        trade_type=params["trade_type"],
        openid=params.get("openid") or None,
        product_id=params.get("product_id") or None,
        notify_url=params["notify_url"],
        spbill_create_ip=params["spbill_create_ip"],
        sign_type=params.get("sign_type") or "MD5",
        time_start=params.get("time_start") or None,
        time_expire=params.get("time_expire") or None,
        expires_at=expires_at,
        request_params=json.dumps(_compared(params), ensure_ascii=False, sort_keys=True),
        trade_state="NOTPAY",
        created_at=now,
    )
    _issue_prepay(order, now)
    db.session.add(order)
    return order


def _issue_prepay(order: SandboxPayOrder, now: datetime) -> None:
    # wx + Beijing time + 20 hex digits: 36 characters, the shape of WeChat's prepay_id.
    order.prepay_id = "wx" + proto.beijing_stamp(now) + secrets.token_hex(10)
    order.prepay_expires_at = now + PREPAY_LIFETIME
    order.pay_token = secrets.token_urlsafe(24)  # old code_url and mweb_url stop working


# --- 查询订单, 关闭订单 -------------------------------------------------------------------------


def trade_state(order: SandboxPayOrder, now: datetime | None = None) -> str:
    """The state WeChat reports. An unpaid order past its time_expire is CLOSED, written or not."""
    now = now or utcnow()
    if order.trade_state == "NOTPAY" and order.expires_at is not None and order.expires_at <= now:
        return "CLOSED"
    return order.trade_state


def find_order(params: dict) -> SandboxPayOrder:
    """By transaction_id when given (WeChat's priority), else by out_trade_no."""
    if params.get("transaction_id"):
        where = SandboxPayOrder.transaction_id == params["transaction_id"]
    elif params.get("out_trade_no"):
        where = SandboxPayOrder.out_trade_no == params["out_trade_no"]
    else:
        raise BusinessError("LACK_PARAMS", "缺少参数transaction_id或out_trade_no")
    order = db.session.scalar(sa.select(SandboxPayOrder).where(where))
    if order is None:
        raise BusinessError("ORDERNOTEXIST", "订单不存在")
    return order


def query_order(params: dict, now: datetime) -> dict:
    order = find_order(params)
    state = trade_state(order, now)
    fields = {
        "device_info": order.device_info,
        "out_trade_no": order.out_trade_no,
        "attach": order.attach,
        "total_fee": order.total_fee,
        "fee_type": "CNY",
        "trade_state": state,
        "trade_state_desc": STATE_DESC[state],
    }
    if state in PAID_STATES:
        fields.update(
            openid=order.payer_openid,
            is_subscribe="N",
            trade_type=order.trade_type,
            bank_type=order.bank_type,
            cash_fee=order.cash_fee,
            transaction_id=order.transaction_id,
            time_end=order.time_end,
        )
    return fields


def close_order(params: dict, now: datetime) -> dict:
    require(params, "out_trade_no")
    begin_write()
    order = find_order({"out_trade_no": params["out_trade_no"]})
    state = trade_state(order, now)
    if state in PAID_STATES:
        raise BusinessError("ORDERPAID", "该订单已支付")
    if state == "CLOSED":
        raise BusinessError("ORDERCLOSED", "订单已关闭")
    min_age = timedelta(seconds=current_app.config["SANDBOX_CLOSE_MIN_AGE"])
    if now - order.created_at < min_age:
        raise BusinessError(
            "INVALID_REQUEST",
            f"订单生成后不能马上调用关单接口，最短调用时间间隔为{int(min_age.total_seconds())}秒",
        )
    order.trade_state = "CLOSED"
    order.closed_at = now
    return {"result_msg": "OK"}


def recent_orders(count: int = 20) -> list[dict]:
    """The sandbox's index: the latest orders, their state and their latest notification."""
    orders = db.session.scalars(
        sa.select(SandboxPayOrder).order_by(SandboxPayOrder.id.desc()).limit(count)
    ).all()
    latest = {}
    for row in db.session.scalars(
        sa.select(SandboxPayNotification)
        .where(SandboxPayNotification.order_id.in_([order.id for order in orders]))
        .order_by(SandboxPayNotification.id)
    ):
        latest[row.order_id] = row
    return [
        {"order": order, "state": trade_state(order), "notification": latest.get(order.id)}
        for order in orders
    ]


# --- the payer pays (pay pages, JS bridge) ----------------------------------------------------


def find_by_token(token: str) -> SandboxPayOrder | None:
    if not token:
        return None
    return db.session.scalar(sa.select(SandboxPayOrder).where(SandboxPayOrder.pay_token == token))


def find_by_prepay_id(prepay_id: str) -> SandboxPayOrder | None:
    if not prepay_id:
        return None
    return db.session.scalar(
        sa.select(SandboxPayOrder).where(SandboxPayOrder.prepay_id == prepay_id)
    )


def payee_name(order: SandboxPayOrder) -> str:
    """Body is "网站名-商品名" by convention; the part before "-" is who gets paid."""
    name, dash, _ = order.body.partition("-")
    return name.strip() if dash and name.strip() else "商户"


def refusal(order: SandboxPayOrder, now: datetime | None = None) -> str | None:
    """Why this order cannot be paid now, in the payer's words; None when it can."""
    now = now or utcnow()
    state = trade_state(order, now)
    if state in PAID_STATES:
        return "该订单已支付，请勿重复支付"
    if state == "CLOSED":
        return "订单已过期，请回到商户重新下单" if order.closed_at is None else "订单已关闭"
    if order.prepay_expires_at <= now:
        return "支付已过期，请回到商户重新发起支付"
    return None


def pay(order: SandboxPayOrder, openid: str, now: datetime | None = None) -> SandboxPayOrder:
    """Pay as openid: SUCCESS, a transaction_id, and the notification queued (never sent here)."""
    now = now or utcnow()
    reason = refusal(order, now)
    if reason is None and order.trade_type == "JSAPI" and openid != order.openid:
        reason = "当前微信用户与下单用户不一致"
    if reason:
        raise PaymentRefused(reason)
    order_id = order.id
    begin_write()
    paid = db.session.execute(
        sa.update(SandboxPayOrder)
        .where(SandboxPayOrder.id == order_id, SandboxPayOrder.trade_state == "NOTPAY")
        .values(
            trade_state="SUCCESS",
            transaction_id=_transaction_id(now),
            payer_openid=openid,
            bank_type="OTHERS",
            cash_fee=SandboxPayOrder.total_fee,
            time_end=proto.beijing_stamp(now),
            paid_at=now,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    order = db.session.get(SandboxPayOrder, order_id, populate_existing=True)
    if not paid:  # closed or paid by someone else between the check and the update
        raise PaymentRefused(refusal(order, now) or "订单状态已变化，请刷新后重试")
    notify.enqueue("payment", order, order.notify_url, payment_notification(order))
    return order


def _transaction_id(now: datetime) -> str:
    """28 digits, shaped like 4200000215201811190261405420 (a date in the middle)."""
    beijing_day = proto.beijing_stamp(now)[:8]
    return f"4200000{secrets.randbelow(1000):03d}{beijing_day}{secrets.randbelow(10**10):010d}"


def payment_notification(order: SandboxPayOrder) -> str:
    """支付结果通知: exactly the SUCCESS fields of docs/wechat-protocol.md §5, signed as the
    order was."""
    return proto.signed_xml(
        {
            "appid": order.appid,
            "mch_id": order.mch_id,
            "result_code": "SUCCESS",
            "openid": order.payer_openid,
            "is_subscribe": "N",
            "trade_type": order.trade_type,
            "bank_type": order.bank_type,
            "total_fee": order.total_fee,
            "cash_fee": order.cash_fee,
            "fee_type": "CNY",
            "transaction_id": order.transaction_id,
            "out_trade_no": order.out_trade_no,
            "attach": order.attach,
            "time_end": order.time_end,
        },
        api_key(),
        order.sign_type,
    )


# --- JSAPI: getBrandWCPayRequest --------------------------------------------------------------

JSAPI_FIELDS = ("appId", "timeStamp", "nonceStr", "package", "signType", "paySign")


def jsapi_order(params: dict) -> SandboxPayOrder:
    """The order behind a getBrandWCPayRequest call, once its paySign checks out (§7)."""
    for name in JSAPI_FIELDS:
        if not isinstance(params.get(name), str) or not params[name]:
            raise PaymentRefused(f"调用支付JSAPI缺少参数：{name}（须是字符串）")
    if params["appId"] != current_app.config["WECHAT_APPID"]:
        raise PaymentRefused("appId与商户号不匹配")
    if params["signType"] not in proto.SIGN_TYPES:
        raise PaymentRefused("signType参数错误")
    signed = {name: params[name] for name in JSAPI_FIELDS if name != "paySign"}
    expected = proto.sign(signed, api_key(), params["signType"])
    if not secrets.compare_digest(params["paySign"].encode(), expected.encode()):
        raise PaymentRefused("支付验证签名失败")
    prefix, _, prepay_id = params["package"].partition("=")
    order = find_by_prepay_id(prepay_id) if prefix == "prepay_id" else None
    if order is None:
        raise PaymentRefused("prepay_id无效或已过期，请回到商户重新发起支付")
    if order.trade_type != "JSAPI":
        raise PaymentRefused("该订单不是公众号支付（JSAPI）订单")
    if params["signType"] != order.sign_type:
        raise PaymentRefused("signType须与统一下单的签名类型一致")
    reason = refusal(order)
    if reason:
        raise PaymentRefused(reason)
    return order
