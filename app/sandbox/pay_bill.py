"""下载对账单: one Beijing day of payments and refunds as WeChat's plain-text bill (§7).

Fields are prefixed with a backtick (so spreadsheets keep long ids intact) and amounts are in
yuan, the one place the sandbox speaks yuan. Unlike WeChat, today's bill is ready at once (WeChat
makes it at 09:00 the next day), so a payment can be reconciled as soon as it is made.
"""

import gzip
import re
from datetime import UTC, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa

from app.models.base import db
from app.sandbox import pay_protocol as proto
from app.sandbox.models import SandboxPayOrder, SandboxPayRefund

HEADER = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,"
    "交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,"
    "充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"
)
SUMMARY_HEADER = (
    "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
)
BILL_TYPES = ("ALL", "SUCCESS", "REFUND", "RECHARGE_REFUND")
FEE_RATE = Decimal("0.006")  # 0.60%, WeChat's usual rate for these trade types
HISTORY = timedelta(days=92)  # "only the last 3 months"


class BillError(Exception):
    """Answered as <return_code>FAIL</return_code> with return_msg and error_code."""

    def __init__(self, return_msg: str, error_code: str):
        super().__init__(return_msg)
        self.return_msg = return_msg
        self.error_code = error_code


def download_bill(params: dict, now: datetime) -> bytes:
    """The bill as UTF-8 text, or gzipped when tar_type=GZIP."""
    day = _bill_day(params.get("bill_date", ""), now)
    bill_type = params.get("bill_type") or "ALL"
    if bill_type not in BILL_TYPES:
        raise BillError("invalid bill_type", "20001")
    if params.get("tar_type") not in (None, "", "GZIP"):
        raise BillError("invalid tar_type", "20001")
    start = datetime.combine(day, time(), proto.BEIJING).astimezone(UTC)
    end = start + timedelta(days=1)

    rows = []  # (when, fields, paid fen, refunded fen, fee fen)
    if bill_type in ("ALL", "SUCCESS"):
        paid = sa.select(SandboxPayOrder).where(
            SandboxPayOrder.paid_at >= start, SandboxPayOrder.paid_at < end
        )
        rows += [_payment_row(order) for order in db.session.scalars(paid)]
    if bill_type in ("ALL", "REFUND"):
        refunded = sa.select(SandboxPayRefund).where(
            SandboxPayRefund.succeeds_at >= start,
            SandboxPayRefund.succeeds_at < end,
            SandboxPayRefund.succeeds_at <= now,  # still PROCESSING: not in the bill yet
        )
        rows += [_refund_row(refund) for refund in db.session.scalars(refunded)]
    if not rows:
        raise BillError("No Bill Exist", "20002")
    rows.sort(key=lambda row: row[0])

    paid_fen = sum(row[2] for row in rows)
    refunded_fen = sum(row[3] for row in rows)
    summary = [
        str(len(rows)),
        _yuan(paid_fen),
        _yuan(refunded_fen),
        "0.00",
        _fee_text(sum(row[4] for row in rows)),
        _yuan(paid_fen),
        _yuan(refunded_fen),
    ]
    lines = [HEADER, *(_backticked(row[1]) for row in rows), SUMMARY_HEADER, _backticked(summary)]
    text = ("\r\n".join(lines) + "\r\n").encode("utf-8")
    return gzip.compress(text) if params.get("tar_type") == "GZIP" else text


def _bill_day(bill_date: str, now: datetime):
    today = now.astimezone(proto.BEIJING).date()
    try:
        if not re.fullmatch(r"[0-9]{8}", bill_date):
            raise ValueError(bill_date)
        day = datetime.strptime(bill_date, "%Y%m%d").date()
    except ValueError:
        raise BillError("invalid bill_date", "20001") from None
    if day > today or day < today - HISTORY:
        raise BillError("invalid bill_date", "20001")
    return day


def _payment_row(order: SandboxPayOrder):
    fee = _fee_fen(order.total_fee)
    fields = [
        proto.beijing_text(order.paid_at),
        order.appid,
        order.mch_id,
        "",
        order.device_info or "",
        order.transaction_id,
        order.out_trade_no,
        order.payer_openid,
        order.trade_type,
        "SUCCESS",
        order.bank_type,
        "CNY",
        _yuan(order.total_fee),
        "0.00",
        "0",
        "0",
        "0.00",
        "0.00",
        "",
        "",
        order.body,
        order.attach or "",
        _fee_text(fee),
        "0.60%",
        _yuan(order.total_fee),
        "0.00",
        "",
    ]
    return order.paid_at, fields, order.total_fee, 0, fee


def _refund_row(refund: SandboxPayRefund):
    order = refund.order
    fields = [
        proto.beijing_text(refund.succeeds_at),
        order.appid,
        order.mch_id,
        "",
        order.device_info or "",
        order.transaction_id,
        order.out_trade_no,
        order.payer_openid,
        order.trade_type,
        "REFUND",
        order.bank_type,
        "CNY",
        _yuan(order.total_fee),
        "0.00",
        refund.refund_id,
        refund.out_refund_no,
        _yuan(refund.refund_fee),
        "0.00",
        "ORIGINAL",
        "SUCCESS",
        order.body,
        order.attach or "",
        _fee_text(0),
        "0.60%",
        _yuan(order.total_fee),
        _yuan(refund.refund_fee),
        "",
    ]
    return refund.succeeds_at, fields, 0, refund.refund_fee, 0


def _backticked(fields: list[str]) -> str:
    return ",".join("`" + _cell(field) for field in fields)


def _cell(value) -> str:
    # WeChat's bills have no quoting: a comma or line break inside a body or attach would shift
    # the columns, so they are written as a full-width comma and a space.
    return str(value).replace(",", "，").replace("\r", " ").replace("\n", " ")


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def _fee_fen(total_fee: int) -> int:
    return int((Decimal(total_fee) * FEE_RATE).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _fee_text(fee_fen: int) -> str:
    return f"{Decimal(fee_fen) / 100:.5f}"
