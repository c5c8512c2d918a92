"""`flask sandbox ...`: the sandbox's commands (present only when the sandbox is on)."""

import click

from app.sandbox import bp
from app.sandbox.notify import deliver_due_notifications


@bp.cli.command("deliver")
def deliver() -> None:
    """Deliver the WeChat Pay notifications that are due, now, in this process."""
    attempted = deliver_due_notifications()
    click.echo(f"已尝试投递 {attempted} 条支付通知")
