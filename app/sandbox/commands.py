"""`flask sandbox ...`: the sandbox's commands (present only when the sandbox is on)."""

import click
from flask import current_app, url_for

from app.models.base import utcnow
from app.money import InvalidAmount, parse_yuan
from app.sandbox import bp
from app.sandbox.notify import deliver_due_notifications
from app.sandbox.pay import BusinessError
from app.sandbox.pay_refunds import refund_from_merchant_platform


@bp.cli.command("deliver")
def deliver() -> None:
    """Deliver the WeChat Pay notifications that are due, now, in this process."""
    attempted = deliver_due_notifications()
    click.echo(f"已尝试投递 {attempted} 条支付通知")


@bp.cli.command("platform-refund")
@click.argument("out_trade_no")
@click.option("--amount", required=True, help="Yuan, e.g. 9.90.")
def platform_refund(out_trade_no: str, amount: str) -> None:
    """Refund an order as the merchant would in 商户平台: outside the shop, then notified."""
    try:
        fee = parse_yuan(amount)
    except InvalidAmount as error:
        raise click.ClickException(str(error)) from error
    base_url = current_app.config["PUBLIC_BASE_URL"] or None
    with current_app.test_request_context(base_url=base_url):
        notify_url = url_for("checkout.refund_notify", _external=True)
    try:
        refund = refund_from_merchant_platform(out_trade_no, fee, notify_url, utcnow())
    except BusinessError as error:
        raise click.ClickException(error.err_code_des) from error
    click.echo(f"商户平台退款 {refund.out_refund_no}，退款通知已排队")
