"""`flask shop ...`: commands a creator runs on the server."""

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from app.creators import CreatorError, create_creator
from app.extensions import db

shop_cli = AppGroup("shop", help="Manage the shop.")


@shop_cli.command("create-admin")
@click.option("--username", prompt="用户名")
@click.option("--password", prompt="密码", hide_input=True, confirmation_prompt=True)
def create_admin(username: str, password: str) -> None:
    """Create the creator's login for the studio."""
    try:
        create_creator(username, password)
    except CreatorError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"已创建创作者账号 {username}，登录地址 /creator/login")


@shop_cli.command("demo")
def demo() -> None:
    """Fill an empty shop with demo content; does nothing to a shop that has products."""
    from app.demo.seed import DEMO_USERNAME, seed_demo, shop_is_empty

    credentials = Path(current_app.instance_path) / "demo_credentials.txt"
    if not shop_is_empty():
        click.echo("店铺已有内容，跳过演示数据。")
    else:
        password = seed_demo(
            Path(current_app.config["UPLOAD_FOLDER"]),
            with_sandbox_users=current_app.config["WECHAT_SANDBOX"],
        )
        db.session.commit()
        if password:
            credentials.write_text(f"{DEMO_USERNAME}\n{password}\n")
            credentials.chmod(0o600)
        click.echo("已生成演示店铺。")
    if credentials.exists():
        username, password = credentials.read_text().split()[:2]
        click.echo(f"创作者后台: /creator/login  用户名 {username}  密码 {password}")
