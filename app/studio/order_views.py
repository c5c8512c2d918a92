"""Studio: 订单. The filtered order list, its CSV, one order's page, and refunds.

A refund takes two steps: the order page's form posts to a confirm page that restates
it (nothing is sent yet); only the confirm page's own form sends it to WeChat.
"""

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)

from app.models import OrderKind, OrderStatus, PayChannel
from app.models.base import utcnow
from app.money import format_fen
from app.payments import admin
from app.payments import orders as order_service
from app.payments.gateway import current_gateway
from app.payments.refunds import RefundError
from app.spreadsheet import csv_chunks, csv_download
from app.studio import bp
from app.templating import local_time
from app.web.public_address import public_url


def _timezone() -> str:
    return current_app.config["SHOP_TIMEZONE"]


def _revokes() -> bool:
    return current_app.config["REFUND_REVOKES_ACCESS"]


def _order_or_404(out_trade_no: str):
    return admin.find_order(out_trade_no) or abort(404)


@bp.get("/orders")
def orders():
    filters = admin.OrderFilters.from_args(request.args)
    return render_template(
        "studio/orders/list.html",
        filters=filters,
        page=admin.order_page(filters, request.args.get("page"), _timezone()),
        items=admin.item_choices(),
        statuses=list(OrderStatus),
        channels=list(PayChannel),
        kinds=list(OrderKind),
    )


@bp.get("/orders.csv")
def orders_csv():
    filters = admin.OrderFilters.from_args(request.args)
    stamp = local_time(utcnow(), "%Y%m%d-%H%M%S")
    rows = admin.csv_rows(filters, _timezone())
    return csv_download(csv_chunks(rows), f"orders-{stamp}.csv")


@bp.get("/orders/<out_trade_no>")
def order_detail(out_trade_no: str):
    return _detail_page(_order_or_404(out_trade_no))


def _detail_page(order, *, error=None, amount=None, reason="", token=None, status=200):
    refundable = order_service.refundable_fen(order)
    return (
        render_template(
            "studio/orders/detail.html",
            order=order,
            refundable_fen=refundable,
            refund_error=error,
            refund_amount=amount,
            refund_reason=reason,
            # Made when the refund form is shown and carried through the confirm page: going
            # back and sending the confirm step again (or reloading it) keeps the same token,
            # so the second send is refused instead of refunding twice.
            refund_token=token or admin.new_confirmation_token(),
        ),
        status,
    )


@bp.post("/orders/<out_trade_no>/refund")
def order_refund_confirm(out_trade_no: str):
    """Step one: check what was typed and restate it. Nothing is sent to WeChat here."""
    order = _order_or_404(out_trade_no)
    amount = request.form.get("amount", "")
    reason = request.form.get("reason", "")
    token = (
        request.form.get("token", "")[: admin.CONFIRMATION_TOKEN_MAX]
        or admin.new_confirmation_token()
    )
    try:
        plan = admin.plan_refund(order, amount, reason, _revokes())
    except RefundError as error:
        return _detail_page(
            order, error=error.message, amount=amount, reason=reason, token=token, status=400
        )
    return render_template("studio/orders/confirm.html", plan=plan, order=order, token=token)


@bp.post("/orders/<out_trade_no>/refund/send")
def order_refund_send(out_trade_no: str):
    """Step two: the confirm page's button. Sends the refund once per confirm page."""
    order = _order_or_404(out_trade_no)
    try:
        refund = admin.confirm_refund(
            current_gateway(),
            order,
            request.form.get("amount", ""),
            request.form.get("reason", ""),
            request.form.get("token", ""),
            public_url("checkout.refund_notify"),
            _revokes(),
        )
    except admin.DuplicateConfirmation as error:
        flash(error.message, "info")
    except RefundError as error:
        flash(error.message, "error")
    else:
        flash(
            f"已向微信提交退款 {format_fen(refund.amount_fen)}，状态：{refund.status.label}。"
            "微信通知退款结果后，订单状态随之更新。",
            "info",
        )
    return redirect(url_for(".order_detail", out_trade_no=out_trade_no) + "#refunds")
