"""`flask shop|orders|stats|recs|wechat ...`: commands a creator runs on the server."""

import dataclasses
import json
from datetime import timedelta
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from app.extensions import db
from app.readers.creators import CreatorError, create_creator, reset_password

shop_cli = AppGroup("shop", help="Manage the shop.")
orders_cli = AppGroup("orders", help="Reconcile orders and refunds with WeChat Pay.")


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


@shop_cli.command("reset-password")
@click.option("--username", prompt="用户名")
@click.option("--password", prompt="新密码", hide_input=True, confirmation_prompt=True)
def reset_admin_password(username: str, password: str) -> None:
    """Set a new studio password for a creator who cannot log in; every session ends."""
    try:
        reset_password(username, password)
    except CreatorError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"已为 {username} 设置新密码，所有设备需要重新登录")


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
            ffmpeg_binary=current_app.config["FFMPEG_BINARY"],
        )
        db.session.commit()
        _build_recommendations_quietly()
        if password:
            credentials.write_text(f"{DEMO_USERNAME}\n{password}\n")
            credentials.chmod(0o600)
        click.echo("已生成演示店铺。")
    if credentials.exists():
        username, password = credentials.read_text().split()[:2]
        click.echo(f"创作者后台: /creator/login  用户名 {username}  密码 {password}")


coupon_cli = AppGroup("coupon", help="Coupons (优惠券).")
shop_cli.add_command(coupon_cli)


@coupon_cli.command("create")
@click.option("--amount", help="Yuan off, e.g. 10 (or use --zhe).")
@click.option("--zhe", help="A percentage coupon in 折: 8 is 八折, 0 is free.")
@click.option("--code", default="", help="The code; default: one is made.")
@click.option("--name", default="", help="What the studio calls it.")
@click.option("--min-spend", default="", help="Yuan the price must reach.")
@click.option("--item", "items", multiple=True, help="An item's slug; repeat; default: all.")
@click.option("--starts", default="", help="Local time, e.g. '2026-12-08 10:00'.")
@click.option("--ends", default="", help="Local time; default: no end.")
@click.option("--total", default="", help="Uses in all; default: no limit.")
@click.option("--per-reader", default="1", help="Uses per reader.")
@click.option("--count", default="1", help="Make this many one-off codes alike.")
def coupon_create(
    amount, zhe, code, name, min_spend, items, starts, ends, total, per_reader, count
):
    """Make coupon codes; prints each code on its own line."""
    from app.catalog import queries
    from app.pricing import coupons, drafts
    from app.pricing.refusals import PromotionInvalid

    if (amount is None) == (zhe is None):
        raise click.ClickException("请给出 --amount（立减）或 --zhe（折扣）之一")
    product_ids = []
    for slug in items:
        product = queries.find_product(slug)
        if product is None:
            raise click.ClickException(f"没有商品 {slug}")
        product_ids.append(product.id)
    fields = {
        "kind": "amount" if amount is not None else "percent",
        "amount": amount or "",
        "zhe": zhe or "",
        "code": code,
        "name": name,
        "min_spend": min_spend,
        "starts_at": starts,
        "ends_at": ends,
        "total_limit": total,
        "per_reader_limit": per_reader,
        "count": count,
    }
    try:
        draft, how_many = drafts.coupon_draft(
            fields, tuple(product_ids), current_app.config["SHOP_TIMEZONE"]
        )
        made = coupons.create(draft, how_many)
    except PromotionInvalid as error:
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(f"已创建 {len(made)} 个优惠码（{coupons.describe(made[0])}）：", err=True)
    for coupon in made:
        click.echo(coupon.code)


@shop_cli.command("remind-members")
def remind_members() -> None:
    """Tell readers whose 会员 pass ends within three days (once per ending), through the
    公众号 where WeChat lets a message reach them. Run daily (shop-reminders.timer)."""
    from app import jobs
    from app.pricing import memberships
    from app.wechat import message_settings

    with jobs.recorded(jobs.REMINDERS):
        reminded = memberships.remind_ending(message_settings.current(current_app.config))
        click.echo(f"会员到期提醒：已发送 {reminded.sent} · 未能送达 {reminded.not_sent}")


@shop_cli.command("media-worker")
@click.option("--once", is_flag=True, help="Process what waits, then stop.")
def media_worker(once: bool) -> None:
    """Process uploaded audio and video into encrypted HLS, as they arrive (runs until stopped;
    `make run` and deploy/systemd/shop-media.service start it)."""
    from app.media import queue

    ran = queue.work(current_app.config, stop_when_idle=once)
    if once:
        click.echo(f"已处理 {ran} 个音视频")


@shop_cli.command("covers")
def build_cover_sizes() -> None:
    """Write the WebP sizes that covers stored before they existed lack; safe to run again."""
    from app.catalog import cover_variants, queries

    folder = Path(current_app.config["UPLOAD_FOLDER"]) / "covers"
    report = cover_variants.backfill(folder, queries.cover_names())
    click.echo(
        f"封面 {report.covers} 张：新生成 {report.written} 个 WebP 尺寸，"
        f"{report.complete} 张已齐全。"
    )
    for name in report.missing:
        click.echo(f"找不到封面文件：{name}", err=True)
    if report.missing:
        raise SystemExit(1)


@shop_cli.command("doctor")
@click.option(
    "--offline", is_flag=True, help="Skip the checks that call WeChat or the public address."
)
def doctor(offline: bool) -> None:
    """Check the configuration and the world before real money flows; exit status 1 when
    something blocks going live. See docs/doctor.md."""
    import requests

    from app import doctor, health, jobs
    from app.models.base import utcnow
    from app.payments.gateway import current_gateway
    from app.serving import worker_count
    from app.wechat.official_account import current_client

    config = current_app.config
    world = doctor.World(
        config=config,
        instance_path=current_app.instance_path,
        health=health.check(),
        last_reconcile=jobs.last_run(jobs.RECONCILE),
        last_backup=jobs.last_run(jobs.BACKUP),
        now=utcnow(),
        workers=worker_count(),
    )
    if not offline:
        probe = None
        if config["PUBLIC_BASE_URL"]:
            with requests.Session() as http:
                probe = doctor.probe_public(config["PUBLIC_BASE_URL"], http)
        world = dataclasses.replace(
            world,
            gateway=current_gateway(),
            access_token=lambda: current_client().access_token,
            probe=probe or doctor.PublicProbe(failure="no PUBLIC_BASE_URL"),
        )
    findings = doctor.examine(world)
    for finding in findings:
        click.echo(f"{finding.level.mark} {finding.zh}  {finding.en}")
        if finding.todo:
            click.echo(f"    → {finding.todo}")
    ok, warn, block = (sum(f.level is level for f in findings) for level in doctor.Level)
    click.echo(
        f"共 {len(findings)} 项：{ok} 项正常，{warn} 项提醒，{block} 项阻止上线。 "
        f"{len(findings)} checks: {ok} ok, {warn} warnings, {block} blocking."
    )
    if offline:
        click.echo(
            f"离线：跳过了 {doctor.ONLINE_CHECKS} 项要联网的检查。 "
            f"Offline: {doctor.ONLINE_CHECKS} checks that go online were skipped."
        )
    if doctor.blocks(findings):
        raise SystemExit(1)


@orders_cli.command("reconcile")
@click.option(
    "--older-than", type=int, default=None, help="Minutes (default RECONCILE_AFTER_MINUTES)."
)
def reconcile_orders(older_than: int | None) -> None:
    """Settle pending orders and refunds by asking WeChat; close expired orders there and here.

    Run it every few minutes from cron or a systemd timer; each run is recorded (job_runs),
    so `flask shop doctor` can tell whether the timer runs.
    """
    from app import jobs
    from app.payments.gateway import current_gateway
    from app.payments.reconcile import reconcile

    minutes = (
        older_than if older_than is not None else current_app.config["RECONCILE_AFTER_MINUTES"]
    )
    with jobs.recorded(jobs.RECONCILE) as run:
        report = reconcile(
            current_gateway(),
            timedelta(minutes=minutes),
            revoke_access=current_app.config["REFUND_REVOKES_ACCESS"],
            refund_notify_url=_refund_notify_url(),
        )
        click.echo(
            f"已支付 {len(report.paid)} · 已关闭 {len(report.closed)} · "
            f"仍待支付 {len(report.still_pending)} · 退款结清 {len(report.refunds_settled)} · "
            f"退款重发 {len(report.refunds_resent)}"
        )
        for line in report.errors:
            click.echo(f"错误: {line}", err=True)
        _send_due_messages()
        _rebuild_recommendations_if_due()
        if report.errors:
            run.error = f"{len(report.errors)} 个错误，第一个：{report.errors[0]}"
            raise SystemExit(1)


def _rebuild_recommendations_if_due() -> None:
    """The cron job that reconciles also keeps recommendations fresh (after enough sales)."""
    from app.recommendations import builder

    built = builder.rebuild_if_due(_jieba_cache())
    if built is not None:
        click.echo(f"推荐已更新：{built.items} 件内容，{built.readers} 位读者")


def _build_recommendations_quietly() -> None:
    from app.recommendations import builder

    builder.rebuild(_jieba_cache())


def _jieba_cache() -> Path:
    return Path(current_app.instance_path) / "cache"


@orders_cli.command("bill")
@click.option(
    "--date", "day", type=click.DateTime(["%Y-%m-%d"]), help="YYYY-MM-DD (default: yesterday)"
)
def compare_bill(day) -> None:
    """Download WeChat's bill for a day (yesterday in Beijing by default) and report every
    difference from the shop's orders, both ways; refunds made in 商户平台 that the shop lacks
    are recorded as they are found. Differences are kept for the studio's banner and sent to
    the creator. Run it daily after 10:00 Beijing time, when WeChat has the bill ready."""
    from app import jobs
    from app.payments import bill_checks
    from app.payments.gateway import current_gateway

    day = day.date() if day else bill_checks.yesterday()
    with jobs.recorded(jobs.BILL) as run:
        check = bill_checks.check_day(
            current_gateway(), day, current_app.config["REFUND_REVOKES_ACCESS"]
        )
        for note in (d for d in check.differences if d["demo"]):
            click.echo(f"{note['out_trade_no']}\t{note['problem']}（不是差异）")
        if not check.needs_attention:
            click.echo(f"{day:%Y-%m-%d} 对账一致。")
            return
        if check.error:
            click.echo(check.error, err=True)
        for difference in check.real_differences:
            click.echo(f"{difference['out_trade_no']}\t{difference['problem']}")
        click.echo(f"通知创作者：{bill_checks.tell_creator(check)}")
        run.error = check.error or f"{day:%Y-%m-%d} 有 {len(check.real_differences)} 处差异"
        raise SystemExit(1)


@orders_cli.command("refund")
@click.argument("out_trade_no")
@click.option(
    "--amount", help="Yuan, e.g. 9.90; default: everything not refunded or being refunded."
)
@click.option("--reason", default="", help="Shown to the reader by WeChat.")
def refund(out_trade_no: str, amount: str | None, reason: str) -> None:
    """Refund an order fully or partly."""
    from app.money import InvalidAmount, parse_yuan
    from app.payments import orders
    from app.payments.gateway import current_gateway
    from app.payments.refunds import RefundError, refund_order

    order = orders.find(out_trade_no)
    if order is None:
        raise click.ClickException("订单不存在")
    try:
        fen = parse_yuan(amount) if amount else orders.refundable_fen(order)
    except InvalidAmount as error:
        raise click.ClickException(str(error)) from error
    try:
        result = refund_order(
            current_gateway(),
            order,
            fen,
            reason,
            _refund_notify_url(),
            current_app.config["REFUND_REVOKES_ACCESS"],
        )
    except RefundError as error:
        raise click.ClickException(error.message) from error
    click.echo(f"退款已受理：{result.out_refund_no}（{result.status.label}）")


def _refund_notify_url() -> str:
    """Outside a request the shop's address comes from PUBLIC_BASE_URL (set it when live)."""
    from app.web.public_address import public_url

    return public_url("checkout.refund_notify")


stats_cli = AppGroup("stats", help="The dashboard's rollups.")


@stats_cli.command("rebuild")
def rebuild_stats() -> None:
    """Recompute the dashboard's rollups from every order (after restoring a backup, say).

    Not needed in normal running: the dashboard folds new payments in as it opens."""
    import time

    from app.analytics import rollups

    started = time.perf_counter()
    rollups.rebuild(current_app.config["SHOP_TIMEZONE"])
    click.echo(f"统计数据已重建（{time.perf_counter() - started:.1f} 秒）。")


recs_cli = AppGroup("recs", help="Recommendations.")


@recs_cli.command("rebuild")
def rebuild_recommendations() -> None:
    """Recompute every recommendation list now, and print the offline evaluation."""
    from app import jobs
    from app.recommendations import builder

    with jobs.recorded(jobs.RECOMMENDATIONS):
        built = builder.rebuild(_jieba_cache())
    figures = built.evaluation
    click.echo(
        f"推荐已更新：{built.items} 件内容，{built.readers} 位读者，{built.purchases} 笔购买。"
    )
    if figures.get("readers"):
        click.echo(
            f"离线评估（{figures['readers']} 位读者，留出最后一次购买）："
            f"HR@10 {figures['hr10']:.3f} · NDCG@10 {figures['ndcg10']:.3f} · "
            f"覆盖率 {figures['coverage']:.0%}"
        )


wechat_cli = AppGroup("wechat", help="The Official Account (公众号).")
menu_cli = AppGroup("menu", help="The custom menu followers see.")
messages_cli = AppGroup("messages", help="The messages after a payment (模板消息, 客服消息).")
wechat_cli.add_command(menu_cli)
wechat_cli.add_command(messages_cli)


@messages_cli.command("send")
@click.option("--limit", type=int, default=100, help="At most this many messages.")
def send_messages(limit: int) -> None:
    """Send the messages that are due (new ones, and retries whose time has come).

    `flask orders reconcile` runs it too."""
    _send_due_messages(limit)


def _send_due_messages(limit: int = 100) -> None:
    from app.models import MessageStatus
    from app.wechat import outbox

    report = outbox.send_due(limit)
    if not report.counts:
        return
    shown = (
        MessageStatus.SENT,
        MessageStatus.SKIPPED,
        MessageStatus.RETRYING,
        MessageStatus.FAILED,
    )
    counts = " · ".join(f"{status.label} {report.count(status)}" for status in shown)
    click.echo(f"公众号消息：{counts}")


@menu_cli.command("push")
def push_menu() -> None:
    """Push the configured menu (WECHAT_MENU, else the default) to WeChat."""
    from app.wechat import menu

    answer = _said(menu.push())
    click.echo(json.dumps(answer.menu, ensure_ascii=False, indent=2))


@menu_cli.command("show")
def show_menu() -> None:
    """Print the menu WeChat holds now."""
    from app.wechat import menu

    answer = _said(menu.show())
    if answer.menu is not None:
        click.echo(json.dumps(answer.menu, ensure_ascii=False, indent=2))


@menu_cli.command("delete")
@click.confirmation_option(prompt="删除公众号的自定义菜单？")
def delete_menu() -> None:
    from app.wechat import menu

    _said(menu.delete())


def _said(answer):
    """Print what came of a menu call (the studio's 公众号菜单 page says the same); a failure
    ends the command with status 1."""
    if not answer.ok:
        raise click.ClickException(answer.message)
    click.echo(answer.message)
    return answer


@shop_cli.command("backup")
@click.option(
    "--to",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the archive (default BACKUP_FOLDER).",
)
@click.option(
    "--keep",
    type=click.IntRange(min=1),
    default=None,
    help="Archives to keep there, newest first (default BACKUP_KEEP).",
)
def backup(folder: Path | None, keep: int | None) -> None:
    """Write a dated archive of the database, the uploads and the secret key; keep the newest.

    Safe while the shop runs. Run it daily from a timer, and copy the archives off the server."""
    from app import backups, jobs

    folder = folder or Path(current_app.config["BACKUP_FOLDER"])
    keep = keep if keep is not None else int(current_app.config["BACKUP_KEEP"])
    if keep < 1:
        raise click.ClickException(f"BACKUP_KEEP 至少为 1（现在是 {keep}）")
    shop = _this_shop()
    with jobs.recorded(jobs.BACKUP) as run:
        try:
            made = backups.create_backup(shop, folder)
            pruned = backups.prune(folder, keep, spare=made.path)
        except backups.BackupError as error:
            run.error = f"备份失败：{error}"
            raise click.ClickException(run.error) from error
    click.echo(f"已备份到 {made.path}（{_size(made.size)}）")
    click.echo(f"{_counted(made.manifest.counts)} · 上传文件 {len(made.manifest.upload_files)} 个")
    if not _secret_key_is_the_file(shop):
        click.echo(
            "注意：SECRET_KEY 写在配置或环境变量里，备份不含它：请另外保管，"
            "换了它读者的登录和分享码都会失效。",
            err=True,
        )
    if pruned:
        click.echo(f"已删除 {len(pruned)} 份旧备份，保留最近 {keep} 份")


@shop_cli.command("restore")
@click.argument("archive", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Replace a database that already has orders.")
def restore(archive: Path, yes: bool) -> None:
    """Restore an archive from `flask shop backup` into this shop's database and folders.

    The archive is checked whole first. With SQLite, stop the shop before restoring."""
    from flask_migrate import upgrade

    from app import backups

    shop = _this_shop()
    secret_from_file = _secret_key_is_the_file(shop)
    # Nothing of this process may hold the database open while it is replaced.
    db.session.remove()
    db.engine.dispose()
    try:
        if backups.database_kind(shop.database_url) == "sqlite":
            click.echo("SQLite 恢复时商店必须已停止（网站进程和定时任务都停下）。")
        restored = backups.restore_backup(archive, shop, replace_orders=yes)
    except backups.BackupError as error:
        raise click.ClickException(f"恢复失败：{error}") from error

    click.echo(f"已恢复 {archive.name}（备份于 {restored.manifest.created_at}）")
    click.echo(f"数据库：{_counted(restored.counts)}（与备份清单一致）")
    click.echo(f"上传文件 {restored.uploads} 个 → {shop.upload_folder}")
    if restored.uploads_set_aside:
        click.echo(f"原来的上传文件移到了 {restored.uploads_set_aside}，确认无误后可删除")
    if not restored.secret_key:
        click.echo("备份里没有密钥文件：SECRET_KEY 需与备份时的相同，读者才能保持登录。")
    elif secret_from_file:
        click.echo(f"密钥已恢复到 {shop.secret_key_file}")
    else:
        click.echo(
            f"密钥已恢复到 {shop.secret_key_file}，但配置里的 SECRET_KEY 优先："
            "请让它与备份时的相同。",
            err=True,
        )
    if restored.upgrade_needed:
        db.engine.dispose()
        upgrade()
        click.echo("备份来自较早的版本：数据库已升级到当前版本（flask db upgrade）。")
    click.echo("现在可以启动商店，打开几笔订单和下载文件看看。")


def _this_shop():
    from app.backups import Shop

    return Shop(
        database_url=current_app.config["SQLALCHEMY_DATABASE_URI"],
        instance_path=Path(current_app.instance_path),
        upload_folder=Path(current_app.config["UPLOAD_FOLDER"]),
    )


def _secret_key_is_the_file(shop) -> bool:
    """Whether the key in use is instance/secret_key's (not one set in config or env)."""
    key_file = shop.secret_key_file
    return key_file.is_file() and key_file.read_text().strip() == current_app.config["SECRET_KEY"]


def _counted(counts: dict[str, int]) -> str:
    from app.backups import COUNTED_TABLES

    return " · ".join(f"{label} {counts[t]}" for t, label in COUNTED_TABLES.items() if t in counts)


def _size(size: int) -> str:
    for unit in ("B", "KB", "MB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"
