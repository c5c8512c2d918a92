"""WeChat Pay API v2 through wechatpy 1.8.18, behind the PaymentGateway interface.

wechatpy's quirks (see docs/wechat-protocol.md §4) are handled here and nowhere else: it checks no
response signature and no amount, appid or mch_id in notifications; it returns strings; it
lets ValueError out of its XML parser; it recomputes times on every call; it hands back the
raw text of an answer that is not XML (a proxy's error page, an empty or truncated body)
instead of raising.
"""

import csv
import io
import logging
import secrets
from datetime import UTC, date, datetime
from decimal import Decimal
from xml.parsers.expat import ExpatError
from zoneinfo import ZoneInfo

import requests
from flask import Flask
from wechatpy.exceptions import WeChatPayException
from wechatpy.pay import WeChatPay

from app.config import ConfigurationError
from app.payments.gateway import (
    BillRow,
    GatewayError,
    InvalidNotification,
    PaymentNotice,
    Prepay,
    PrepayRequest,
    RefundResult,
    TradeState,
)
from app.wechat.transport import IN_PROCESS_ORIGIN, http_session

log = logging.getLogger(__name__)

BEIJING = ZoneInfo("Asia/Shanghai")
# Business errors worth trying again with the same parameters (docs/wechat-protocol.md §3.4).
_RETRYABLE = {"SYSTEMERROR", "BIZERR_NEED_RETRY", "FREQUENCY_LIMITED"}
# "系统超时": WeChat itself does not say whether it did it; ask again with the same parameters.
_OUTCOME_UNKNOWN = {"SYSTEMERROR"}
# What wechatpy lets out when an answer is not the protocol's XML: its parser's errors, and
# KeyError or TypeError from reading a document without <xml> or <return_code>.
_UNREADABLE = (ValueError, KeyError, TypeError, ExpatError)
MAX_NOTIFICATION_BYTES = 64 * 1024


class WeChatPayV2Gateway:
    def __init__(self, client: WeChatPay, appid: str, mch_id: str):
        self.client = client
        self.appid = appid
        self.mch_id = mch_id

    @classmethod
    def from_app(cls, app: Flask) -> "WeChatPayV2Gateway":
        config = app.config
        if not config["WECHAT_PAY_API_KEY"]:
            # wechatpy would sign and verify with it: a forged notification would pass.
            raise ConfigurationError(["WECHAT_PAY_API_KEY（APIv2 密钥）未设置"])
        cert, key = config["WECHAT_PAY_CERT_PATH"], config["WECHAT_PAY_KEY_PATH"]
        client = WeChatPay(
            config["WECHAT_APPID"],
            config["WECHAT_PAY_API_KEY"],
            config["WECHAT_MCH_ID"],
            mch_cert=cert or None,
            mch_key=key or None,
            timeout=config["WECHAT_HTTP_TIMEOUT"],
        )
        client._http = http_session(app)  # time-outs, and the in-process route to the sandbox
        if config["WECHAT_PAY_API_BASE"]:
            client.API_BASE_URL = config["WECHAT_PAY_API_BASE"]
        elif config["WECHAT_SANDBOX"]:
            client.API_BASE_URL = IN_PROCESS_ORIGIN + "/sandbox/pay/"
        return cls(client, config["WECHAT_APPID"], config["WECHAT_MCH_ID"])

    # --- calls --------------------------------------------------------------------------------

    def create_prepay(self, request: PrepayRequest) -> Prepay:
        scene_info = None
        if request.trade_type == "MWEB":
            scene_info = {
                "h5_info": {
                    "type": "Wap",
                    "wap_url": request.site_url,
                    "wap_name": request.site_name,
                }
            }
        result = self._call(
            self.client.order.create,
            trade_type=request.trade_type,
            body=request.description,
            total_fee=request.amount_fen,
            notify_url=request.notify_url,
            client_ip=request.client_ip,  # never wechatpy's DNS-based fallback
            user_id=request.payer_openid,
            out_trade_no=request.out_trade_no,
            # The stored times: re-entry must repeat the first request exactly.
            time_start=request.time_start.astimezone(BEIJING),
            time_expire=request.time_expire.astimezone(BEIJING),
            product_id=request.product_id if request.trade_type == "NATIVE" else None,
            scene_info=scene_info,
        )
        return Prepay(
            prepay_id=_required(result, "prepay_id"),
            code_url=result.get("code_url"),
            mweb_url=result.get("mweb_url"),
        )

    def jsapi_parameters(self, prepay_id: str) -> dict[str, str]:
        return self.client.jsapi.get_jsapi_params(prepay_id, nonce_str=secrets.token_hex(16))

    def query(self, out_trade_no: str) -> TradeState:
        try:
            result = self._call(self.client.order.query, out_trade_no=out_trade_no)
        except GatewayError as error:
            if error.code == "ORDERNOTEXIST":
                return TradeState(state="NOTEXIST", out_trade_no=out_trade_no)
            raise
        try:
            self._check_merchant(result)
        except InvalidNotification:
            # An answer about another merchant's order (a misrouted or forged answer: wechatpy
            # checks no answer's signature) says nothing about ours; believe none of it.
            log.warning("WeChat Pay order query answered for another appid or mch_id")
            raise _unreadable("微信支付的应答属于另一个商户") from None
        return TradeState(
            state=result.get("trade_state", ""),
            out_trade_no=result.get("out_trade_no", out_trade_no),
            transaction_id=result.get("transaction_id") or None,
            amount_fen=_int_or_none(result.get("total_fee")),
            payer_openid=result.get("openid") or None,
            paid_at=_parse_time_end(result.get("time_end")),
        )

    def close(self, out_trade_no: str) -> None:
        try:
            self._call(self.client.order.close, out_trade_no)
        except GatewayError as error:
            if error.code != "ORDERCLOSED":  # already closed: nothing to do
                raise

    def refund(
        self,
        *,
        out_trade_no: str,
        out_refund_no: str,
        total_fen: int,
        refund_fen: int,
        reason: str,
        notify_url: str,
    ) -> RefundResult:
        result = self._call(
            self.client.refund.apply,
            total_fee=total_fen,
            refund_fee=refund_fen,
            out_refund_no=out_refund_no,
            out_trade_no=out_trade_no,
            refund_desc=reason or None,
            notify_url=notify_url,
        )
        # Accepted is not refunded: the result comes by notification or query.
        return RefundResult(
            out_refund_no=out_refund_no,
            status="PROCESSING",
            refund_id=result.get("refund_id"),
            amount_fen=_int_or_none(result.get("refund_fee")),
        )

    def query_refund(self, out_refund_no: str) -> RefundResult:
        result = self._call(self.client.refund.query, out_refund_no=out_refund_no)
        for refund in _listed_refunds(result):
            if refund.out_refund_no == out_refund_no:
                return refund
        raise GatewayError("REFUNDNOTEXIST", "退款单不存在")

    def query_order_refunds(self, out_trade_no: str) -> list[RefundResult]:
        """Every refund of an order, the shop's and those made in 商户平台; [] if none.

        WeChat lists ten at a time; wechatpy cannot send `offset`, so later pages are posted
        through its request method with the same signing."""
        found: list[RefundResult] = []
        while True:
            try:
                result = self._call(
                    self.client.refund._post,
                    "pay/refundquery",
                    data={
                        "appid": self.appid,
                        "out_trade_no": out_trade_no,
                        "offset": len(found) or None,
                    },
                )
            except GatewayError as error:
                if error.code == "REFUNDNOTEXIST" and not found:
                    return []
                raise
            page = _listed_refunds(result)
            found += page
            total = _int_or_none(result.get("total_refund_count")) or len(found)
            if not page or len(found) >= total:
                return found

    def download_bill(self, day: date) -> list[BillRow]:
        try:
            # The bill is plain text, not XML: the one call whose raw text answer is expected.
            text = _send(self.client.tools.download_bill, day)
        except GatewayError as error:
            if "No Bill Exist" in error.message:
                return []
            raise
        if not isinstance(text, str) or not text.strip():
            raise _unreadable("对账单格式不对")
        return parse_bill(text)

    # --- notifications ------------------------------------------------------------------------

    def parse_payment_notification(self, body: bytes) -> PaymentNotice:
        if len(body) > MAX_NOTIFICATION_BYTES:
            raise InvalidNotification("body too large")
        try:
            # MD5 signature check; wechatpy lets ValueError out for <!ENTITY> (XXE, bombs).
            data = self.client.parse_payment_result(body)
        except Exception as error:
            raise InvalidNotification(f"unverifiable: {type(error).__name__}") from None
        if data.get("return_code") != "SUCCESS":
            raise InvalidNotification("return_code is not SUCCESS")
        self._check_merchant(data)
        try:
            return PaymentNotice(
                out_trade_no=data["out_trade_no"],
                transaction_id=data["transaction_id"],
                amount_fen=int(data["total_fee"]),
                payer_openid=data.get("openid") or None,
                trade_type=data.get("trade_type", ""),
                paid_at=_parse_time_end(data.get("time_end")),
                succeeded=data.get("result_code") == "SUCCESS",
            )
        except (KeyError, TypeError, ValueError) as error:
            raise InvalidNotification(f"incomplete: {error!r}") from None

    def parse_refund_notification(self, body: bytes) -> RefundResult:
        if len(body) > MAX_NOTIFICATION_BYTES:
            raise InvalidNotification("body too large")
        try:
            # No signature here: decrypting req_info with the key is the proof. wechatpy
            # checks appid and mch_id, and raises anything from KeyError to UnicodeDecodeError.
            data = self.client.parse_refund_notify_result(body)
            return RefundResult(
                out_refund_no=data["out_refund_no"],
                status=data["refund_status"],
                refund_id=data.get("refund_id"),
                amount_fen=int(data["refund_fee"]),
                finished_at=_parse_success_time(data.get("success_time")),
                out_trade_no=data.get("out_trade_no") or None,
            )
        except Exception as error:
            raise InvalidNotification(f"undecryptable: {type(error).__name__}") from None

    @staticmethod
    def success_answer() -> str:
        return _answer("SUCCESS", "OK")

    @staticmethod
    def failure_answer(message: str) -> str:
        return _answer("FAIL", message)

    # --- helpers ------------------------------------------------------------------------------

    def _check_merchant(self, data: dict) -> None:
        if data.get("appid") != self.appid or data.get("mch_id") != self.mch_id:
            raise InvalidNotification(
                "appid or mch_id is not ours", out_trade_no=data.get("out_trade_no") or None
            )

    @staticmethod
    def _call(method, *args, **kwargs) -> dict:
        """One API call whose answer must be the protocol's XML, read into a dict."""
        result = _send(method, *args, **kwargs)
        if not isinstance(result, dict):  # wechatpy hands back text it could not parse
            raise _unreadable("微信支付的应答不是 XML")
        return result


def _send(method, *args, **kwargs):
    """Call wechatpy; every way it can fail becomes a GatewayError, definite or unknown."""
    name = getattr(method, "__qualname__", "call")
    try:
        return method(*args, **kwargs)
    except WeChatPayException as error:
        if error.return_code is None:  # wechatpy's wrapping of an HTTP error status
            status = getattr(error.response, "status_code", "?")
            log.warning("WeChat Pay %s: HTTP %s", name, status)
            raise GatewayError(
                "HTTP", f"微信支付应答 HTTP {status}", outcome_unknown=True
            ) from None
        code = str(error.errcode or error.return_code)
        message = str(error.errmsg or error.return_msg or "微信支付请求失败")
        raise GatewayError(
            code,
            message,
            retryable=code in _RETRYABLE,
            outcome_unknown=code in _OUTCOME_UNKNOWN,
        ) from error
    except OSError as error:  # requests' errors, time-outs included; a missing cert file
        # requests and urllib3 put the whole URL in their messages: neither is logged or
        # passed on (`from None`), only what kind of failure it was.
        why = "超时" if isinstance(error, requests.Timeout) else "无法连接"
        log.warning("WeChat Pay %s: %s (%s)", name, why, type(error).__name__)
        raise GatewayError("NETWORK", f"微信支付连接失败（{why}）", outcome_unknown=True) from None
    except _UNREADABLE as error:
        log.warning("WeChat Pay %s: unreadable answer (%s)", name, type(error).__name__)
        raise _unreadable("微信支付的应答无法解析") from None


def _unreadable(message: str) -> GatewayError:
    return GatewayError("BADRESPONSE", message, outcome_unknown=True)


def _required(result: dict, name: str) -> str:
    if not result.get(name):
        log.warning("WeChat Pay answer without %s", name)
        raise _unreadable(f"微信支付的应答缺少 {name}")
    return result[name]


def _listed_refunds(result: dict) -> list[RefundResult]:
    """The refunds in a 查询退款 answer (refund_count of them, fields suffixed _0, _1, ...)."""
    count = _int_or_none(result.get("refund_count"))
    if count is None:
        raise _unreadable("微信支付的退款查询应答缺少 refund_count")
    return [
        RefundResult(
            out_refund_no=result.get(f"out_refund_no_{n}", ""),
            status=result.get(f"refund_status_{n}", ""),
            refund_id=result.get(f"refund_id_{n}"),
            amount_fen=_int_or_none(result.get(f"refund_fee_{n}")),
            finished_at=_parse_success_time(result.get(f"refund_success_time_{n}")),
            out_trade_no=result.get("out_trade_no") or None,
        )
        for n in range(count)
    ]


def _answer(code: str, message: str) -> str:
    """The merchant's reply to a notification (docs/wechat-protocol.md §5)."""
    message = message.replace("]]>", "")
    return (
        f"<xml><return_code><![CDATA[{code}]]></return_code>"
        f"<return_msg><![CDATA[{message}]]></return_msg></xml>"
    )


def parse_bill(text: str) -> list[BillRow]:
    """The daily bill: a header, backtick-prefixed rows in yuan, then a summary. By header name."""
    lines = [line for line in text.replace("\r\n", "\n").split("\n") if line.strip()]
    if not lines:
        return []
    header = [name.strip() for name in lines[0].split(",")]
    if not {"商户订单号", "交易状态"} <= set(header):
        # A proxy's error page would otherwise read as a bill with no rows: "all is well".
        raise _unreadable("对账单格式不对")
    rows = []
    for values in csv.reader(io.StringIO("\n".join(lines[1:]))):
        values = [v.lstrip("`").strip() for v in values]
        if len(values) != len(header):  # the summary block has other columns
            continue
        record = dict(zip(header, values, strict=True))
        rows.append(
            BillRow(
                out_trade_no=record.get("商户订单号", ""),
                transaction_id=record.get("微信订单号", ""),
                trade_state=record.get("交易状态", ""),
                # 订单金额 is total_fee; 应结订单金额 is what is left after coupons.
                amount_fen=_yuan_to_fen(record.get("订单金额") or record.get("应结订单金额")),
                refund_fen=_yuan_to_fen(record.get("退款金额")),
                out_refund_no=_blank_or_zero(record.get("商户退款单号")),
            )
        )
    return rows


def _blank_or_zero(value: str | None) -> str | None:
    """The bill writes `0 where a row has no refund number."""
    return None if value in (None, "", "0") else value


def _yuan_to_fen(value: str | None) -> int:
    if not value:
        return 0
    return int(Decimal(value) * 100)


def _int_or_none(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _parse_time_end(value: str | None) -> datetime | None:
    """yyyyMMddHHmmss in Beijing time -> aware UTC."""
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y%m%d%H%M%S").replace(tzinfo=BEIJING).astimezone(UTC)
    except ValueError:
        return None


def _parse_success_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    return parsed.replace(tzinfo=BEIJING).astimezone(UTC)
