"""The payment gateway interface: what the shop needs from a payment provider.

Views and services depend on this, never on wechatpy, so a second implementation (WeChat Pay
API v3, say) can be added without touching them. Amounts are int fen both ways.
"""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from flask import current_app


class GatewayError(Exception):
    """The provider refused or could not be reached. `code` is the provider's (e.g. ORDERPAID).

    `outcome_unknown` separates "we don't know" (a time-out, a refused connection, an HTTP
    error status, an answer that is not the protocol's XML, WeChat's own SYSTEMERROR) from
    "WeChat said no": after an unknown outcome the request may have been carried out, so
    whatever it asked for (a refund above all) stays in flight until a query says what
    happened. An unknown outcome is always worth retrying with the same parameters.
    """

    def __init__(
        self, code: str, message: str, *, retryable: bool = False, outcome_unknown: bool = False
    ):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.retryable = retryable or outcome_unknown
        self.outcome_unknown = outcome_unknown


class InvalidNotification(Exception):
    """A notification that must not be believed: bad signature, malformed, foreign merchant.

    `out_trade_no` is set when the notification was verified but refused anyway (another
    merchant's appid or mch_id), so the refusal joins that order's audit trail."""

    def __init__(self, message: str, *, out_trade_no: str | None = None):
        super().__init__(message)
        self.out_trade_no = out_trade_no


@dataclass(frozen=True)
class PrepayRequest:
    out_trade_no: str
    description: str
    amount_fen: int
    trade_type: str  # JSAPI | MWEB | NATIVE
    notify_url: str
    client_ip: str
    time_start: datetime
    time_expire: datetime
    product_id: str
    payer_openid: str | None = None  # JSAPI only
    site_url: str | None = None  # MWEB only: the shop's address, for scene_info
    site_name: str | None = None


@dataclass(frozen=True)
class Prepay:
    prepay_id: str
    code_url: str | None = None
    mweb_url: str | None = None


@dataclass(frozen=True)
class TradeState:
    """What the provider says about an order (order query)."""

    state: str  # SUCCESS | REFUND | NOTPAY | CLOSED | NOTEXIST | ...
    out_trade_no: str
    transaction_id: str | None = None
    amount_fen: int | None = None
    payer_openid: str | None = None
    paid_at: datetime | None = None

    @property
    def paid(self) -> bool:
        # REFUND means "paid, then a refund was requested": money was taken.
        return self.state in ("SUCCESS", "REFUND")


@dataclass(frozen=True)
class PaymentNotice:
    """A verified payment notification."""

    out_trade_no: str
    transaction_id: str
    amount_fen: int
    payer_openid: str | None
    trade_type: str
    paid_at: datetime | None
    succeeded: bool


@dataclass(frozen=True)
class RefundResult:
    out_refund_no: str
    status: str  # SUCCESS | PROCESSING | REFUNDCLOSE | CHANGE
    refund_id: str | None
    amount_fen: int | None = None
    finished_at: datetime | None = None
    # Which order it refunds: in a notification and in a query by order, so a refund made
    # outside the shop (in 商户平台, with an out_refund_no the shop never issued) is placed.
    out_trade_no: str | None = None


@dataclass(frozen=True)
class BillRow:
    out_trade_no: str
    transaction_id: str
    trade_state: str
    amount_fen: int
    refund_fen: int
    out_refund_no: str | None


class PaymentGateway(Protocol):
    def create_prepay(self, request: PrepayRequest) -> Prepay: ...

    def jsapi_parameters(self, prepay_id: str) -> dict[str, str]: ...

    def query(self, out_trade_no: str) -> TradeState: ...

    def close(self, out_trade_no: str) -> None: ...

    def refund(
        self,
        *,
        out_trade_no: str,
        out_refund_no: str,
        total_fen: int,
        refund_fen: int,
        reason: str,
        notify_url: str,
    ) -> RefundResult: ...

    def query_refund(self, out_refund_no: str) -> RefundResult: ...

    def query_order_refunds(self, out_trade_no: str) -> list[RefundResult]: ...

    def parse_payment_notification(self, body: bytes) -> PaymentNotice: ...

    def parse_refund_notification(self, body: bytes) -> RefundResult: ...

    def download_bill(self, day: date) -> list[BillRow]: ...

    def success_answer(self) -> str: ...

    def failure_answer(self, message: str) -> str: ...


def current_gateway() -> PaymentGateway:
    """The gateway for this app's configuration, built once per process.

    It holds no state but its HTTP connection pool, which is worth keeping between requests.
    """
    from app.payments.wechatpay_v2 import WeChatPayV2Gateway

    app = current_app._get_current_object()
    gateway = app.extensions.get("payment_gateway")
    if gateway is None:
        gateway = app.extensions["payment_gateway"] = WeChatPayV2Gateway.from_app(app)
    return gateway
