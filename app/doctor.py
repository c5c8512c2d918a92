"""`flask shop doctor`: is this shop ready for real money? Each check is a small function
that returns a Finding: ok, warn (worth fixing, nothing is lost at once) or block (do not go
live like this), in a Chinese and an English sentence, with what to do.

Plain Python with no request: the command gathers what the checks look at (the
configuration, the database's health, the last reconcile run, WeChat's answers, what the
public address answers) and hands it to them, so each can be tested on its own.
Rules that config.py already enforces at start-up are reused from there, not restated.
"""

import ipaddress
import re
import secrets
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from pathlib import Path
from urllib.parse import urlsplit

import requests

from app import config as shop_config
from app.health import Health
from app.models import JobRun
from app.payments.gateway import GatewayError, PaymentGateway

RECONCILE_STALE_AFTER = timedelta(minutes=15)  # the timer runs every few minutes
BACKUP_STALE_AFTER = timedelta(hours=26)  # daily, with room for a slow night
PUBLIC_PROBE_TIMEOUT = 5  # seconds


class Level(Enum):
    OK = "ok"
    WARN = "warn"
    BLOCK = "block"

    @property
    def mark(self) -> str:
        return {"ok": "✓", "warn": "!", "block": "✗"}[self.value]


@dataclass(frozen=True)
class Finding:
    check: str
    level: Level
    zh: str
    en: str
    todo: str = ""  # what to do, in Chinese then English; empty when all is well


def _ok(check: str, zh: str, en: str) -> Finding:
    return Finding(check, Level.OK, zh, en)


def _warn(check: str, zh: str, en: str, todo: str) -> Finding:
    return Finding(check, Level.WARN, zh, en, todo)


def _block(check: str, zh: str, en: str, todo: str) -> Finding:
    return Finding(check, Level.BLOCK, zh, en, todo)


# --- the configuration ---------------------------------------------------------------------


def check_public_base_url(config: Mapping) -> Finding:
    """https, and a bare host: WeChat's domain settings (网页授权域名, JS接口安全域名, H5支付域名)
    take a domain alone, without a port or a path, and never an IP address."""
    name = "public_base_url"
    url = config["PUBLIC_BASE_URL"]
    todo = (
        "在 instance/config.py 设置 PUBLIC_BASE_URL = 'https://你的域名'。 "
        "Set PUBLIC_BASE_URL = 'https://your.domain' in instance/config.py."
    )
    if not url:
        return _block(
            name,
            "PUBLIC_BASE_URL 未设置：微信的支付通知和网页授权需要店铺的公网地址。",
            "PUBLIC_BASE_URL is not set: WeChat's notifications and sign-in need it.",
            todo,
        )
    parts = urlsplit(url)
    if parts.scheme != "https":
        return _block(
            name,
            "PUBLIC_BASE_URL 不是 https：微信要求支付和网页授权走 https。",
            "PUBLIC_BASE_URL is not https: WeChat requires https for pay and sign-in.",
            todo,
        )
    bare = (
        parts.hostname
        and parts.port is None
        and parts.path in ("", "/")
        and not (parts.query or parts.fragment or parts.username)
    )
    if not bare:
        return _block(
            name,
            "PUBLIC_BASE_URL 应只有域名，不带端口和路径：微信后台的各项域名只接受域名本身。",
            "PUBLIC_BASE_URL must be a bare domain, no port or path: WeChat's domain "
            "settings accept nothing else.",
            "让店铺独占一个域名的 443 端口，如 https://shop.example.com。 "
            "Serve the shop at the root of its own domain on port 443.",
        )
    if _is_ip_address(parts.hostname):
        return _block(
            name,
            "PUBLIC_BASE_URL 是 IP 地址：微信后台只接受已备案的域名。",
            "PUBLIC_BASE_URL is an IP address: WeChat accepts only a registered domain.",
            todo,
        )
    return _ok(
        name,
        f"公网地址是 https 域名 {parts.hostname}。",
        f"The public address is the https domain {parts.hostname}.",
    )


def _is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def check_wechat_keys(config: Mapping) -> Finding:
    """Every WeChat setting present and well formed, by config.py's own rules (which also stop
    a live shop from starting, so on a live shop this finds the certificates at most)."""
    name = "wechat_keys"
    problems = (
        # PUBLIC_BASE_URL is check_public_base_url's to report, more strictly.
        [p for p in shop_config.check_wechat(config) if not p.startswith("PUBLIC_BASE_URL")]
        + shop_config.check_official_account(config)
        + shop_config.check_token_store(config)
        + shop_config.check_message_templates(config, sandbox_by_name=True)
    )
    if problems:
        keys = sorted({m.group() for p in problems if (m := re.match(r"[A-Z_]+", p))})
        return _block(
            name,
            "微信设置有问题：" + "；".join(problems) + "。",
            f"WeChat settings missing or malformed: {', '.join(keys)}.",
            "按上面的说明改 instance/config.py。 Fix them in instance/config.py as said above.",
        )
    if not (config["WECHAT_PAY_CERT_PATH"] and config["WECHAT_PAY_KEY_PATH"]):
        return _warn(
            name,
            "微信的各项设置齐全，但没有商户证书：不能退款。",
            "WeChat settings are complete, but without the merchant certificate refunds fail.",
            "在商户平台 → API安全 申请证书，设置 WECHAT_PAY_CERT_PATH 与 WECHAT_PAY_KEY_PATH。 "
            "Download the API certificate and set both paths.",
        )
    return _ok(
        name, "微信的各项设置齐全、格式正确。", "Every WeChat setting is present and well formed."
    )


def check_sandbox(config: Mapping) -> Finding:
    name = "sandbox"
    if config["WECHAT_SANDBOX"]:
        return _block(
            name,
            "沙箱模式开着：任何人都能“支付”任何订单，钱不会到账。",
            "Sandbox mode is on: anyone can 'pay' any order and no money arrives.",
            "填写全部微信密钥并删除 WECHAT_SANDBOX 设置（或设为 False）。 "
            "Set every WeChat key and remove WECHAT_SANDBOX (or set it False).",
        )
    return _ok(name, "沙箱模式已关闭。", "Sandbox mode is off.")


def check_folders(instance_path: str, upload_folder: str) -> Finding:
    """The instance folder (secret key, SQLite, caches) and the uploads must take new files."""
    name = "folders"
    for folder in (instance_path, upload_folder):
        try:
            Path(folder).mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=folder) as probe:
                probe.write(b"doctor")
        except OSError as error:
            return _block(
                name,
                f"文件夹 {folder} 不可写（{error.strerror or type(error).__name__}）。",
                f"The folder {folder} is not writable ({error.strerror or 'error'}).",
                "让运行店铺的用户拥有它：chown -R 用户 文件夹。 "
                "Make the shop's user own it (chown -R).",
            )
    return _ok(
        name,
        "实例文件夹和上传文件夹都可写。",
        "The instance and upload folders are writable.",
    )


def check_secret_key(config: Mapping, instance_path: str) -> Finding:
    """The key that signs sessions: long enough, and its file readable by the shop alone."""
    name = "secret_key"
    if len(str(config["SECRET_KEY"])) < 32:
        return _warn(
            name,
            "SECRET_KEY 太短（少于 32 个字符），会话签名容易被猜。",
            "SECRET_KEY is shorter than 32 characters: sessions are easier to forge.",
            "删掉 SECRET_KEY 设置，让店铺在 instance/secret_key 生成一个。 "
            "Remove SECRET_KEY from the configuration; the shop generates one.",
        )
    key_file = Path(instance_path) / "secret_key"
    if key_file.exists() and key_file.stat().st_mode & 0o077:
        return _warn(
            name,
            "instance/secret_key 其他用户也能读。",
            "instance/secret_key is readable by other users.",
            "chmod 600 instance/secret_key。 Run chmod 600 on it.",
        )
    return _ok(name, "SECRET_KEY 足够长，且只有店铺能读。", "SECRET_KEY is long and kept private.")


def check_rate_limit_storage(config: Mapping, workers: int) -> Finding:
    name = "rate_limit_storage"
    if workers > 1 and str(config["RATELIMIT_STORAGE_URI"]).startswith("memory://"):
        return _warn(
            name,
            f"{workers} 个工作进程各自计数接口限流（RATELIMIT_STORAGE_URI 是 memory://），"
            f"实际上限是设置的 {workers} 倍；创作者登录的限制已存在数据库，不受影响。",
            f"{workers} workers each count API rate limits on their own (memory://): the real "
            "limit is that many times the setting. The creator login throttle is in the "
            "database already and is not affected.",
            "设置 RATELIMIT_STORAGE_URI = 'redis://127.0.0.1:6379/1'。 "
            "Point RATELIMIT_STORAGE_URI at Redis.",
        )
    return _ok(
        name,
        "接口限流的计数由所有工作进程共享。",
        "API rate-limit counts are shared by every worker.",
    )


def check_domains(config: Mapping, verify_files: list[str] = ()) -> Finding:
    """WeChat has no API to read the 公众号's domain settings: say what to check by hand, and
    which domain verification files (MP_verify_….txt) the shop serves from its instance
    folder."""
    name = "wechat_domains"
    host = urlsplit(config["PUBLIC_BASE_URL"]).hostname
    if not host:
        return _warn(
            name,
            "没有公网域名，无法说明微信后台该填什么。",
            "No public domain, so nothing to say about WeChat's domain settings.",
            "先设置 PUBLIC_BASE_URL。 Set PUBLIC_BASE_URL first.",
        )
    if verify_files:
        served_zh = f"店铺在根目录提供校验文件 {'、'.join(verify_files)}"
        served_en = f"the shop serves {', '.join(verify_files)} at its root"
    else:
        served_zh = (
            "实例文件夹里还没有 MP_verify_….txt 校验文件：保存域名前把公众号后台给的文件放进去"
        )
        served_en = (
            "no MP_verify_….txt file is in the instance folder yet: put the one 公众号后台 "
            "offers there before saving the domain"
        )
    return _warn(
        name,
        f"微信不提供接口读取域名设置，请亲自确认：公众号后台的网页授权域名和 JS接口安全域名"
        f"都是 {host}，商户平台的 H5支付域名也是它（{served_zh}）。",
        f"WeChat offers no API to read these, so check by hand: in 公众号后台 both the web "
        f"authorization domain and the JS interface domain are {host}, and so is the H5 pay "
        f"domain in 商户平台 ({served_en}).",
        "见 docs/doctor.md。 See docs/doctor.md.",
    )


# --- the database --------------------------------------------------------------------------


def check_database(health: Health) -> Finding:
    name = "database"
    if not health.database:
        return _block(
            name,
            "数据库连不上。",
            "The database does not answer.",
            "检查 SQLALCHEMY_DATABASE_URI 和数据库服务。 "
            "Check SQLALCHEMY_DATABASE_URI and the database server.",
        )
    if not health.migrations_current:
        return _block(
            name,
            "数据库结构不是最新的：迁移没有全部执行。",
            "The database is not migrated to the code's latest revision.",
            "运行 flask db upgrade。 Run flask db upgrade.",
        )
    return _ok(name, "数据库可用，迁移已是最新。", "The database answers and is fully migrated.")


def check_reconcile(last: JobRun | None, now: datetime) -> Finding:
    """A warning, however long: payments still arrive by notification without it, but orders
    whose notification was lost stay unsettled, and expired ones stay open at WeChat."""
    return _timer_ran(
        "reconcile",
        "flask orders reconcile",
        last,
        now,
        RECONCILE_STALE_AFTER,
        never=(
            "丢失通知的订单不会补单，过期订单不会关闭。",
            "orders whose notification was lost stay unsettled and expired ones stay open.",
        ),
        todo=(
            "启用定时任务，每几分钟运行一次 flask orders reconcile（见 docs/deploy.md）。 "
            "Run flask orders reconcile every few minutes from a timer."
        ),
    )


def check_backup(last: JobRun | None, now: datetime) -> Finding:
    """A warning: nothing is lost today without a backup, everything on the day the disk goes."""
    return _timer_ran(
        "backup",
        "flask shop backup",
        last,
        now,
        BACKUP_STALE_AFTER,
        never=("还没有任何备份。", "there is no backup yet."),
        todo=(
            "启用每日备份的定时任务（flask shop backup，见 docs/backups.md），并把备份复制到别处。 "
            "Run flask shop backup daily from a timer and copy the archives off the server."
        ),
    )


def _timer_ran(
    name: str,
    command: str,
    last: JobRun | None,
    now: datetime,
    stale_after: timedelta,
    never: tuple[str, str],
    todo: str,
) -> Finding:
    """Whether a scheduled command ran lately and well, from its job_runs record: a warning
    when it never ran, ran longer ago than `stale_after`, or failed last time."""
    if last is None or last.last_started_at is None:
        return _warn(
            name, f"{command} 从未运行：{never[0]}", f"{command} has never run: {never[1]}", todo
        )
    age_zh, age_en = _age(now - last.last_started_at)
    if now - last.last_started_at > stale_after:
        return _warn(
            name,
            f"{command} 上次运行在 {age_zh}前：定时任务可能停了。",
            f"{command} last ran {age_en} ago: its timer may have stopped.",
            todo,
        )
    if last.last_ok is False:
        return _warn(
            name,
            f"{command} 上次运行失败：{last.last_error}",
            f"{command} failed last time: {last.last_error}",
            f"手动运行 {command} 看看出错信息。 Run it by hand to see the error.",
        )
    return _ok(name, f"{command} {age_zh}前运行过。", f"{command} ran {age_en} ago.")


def _age(elapsed: timedelta) -> tuple[str, str]:
    minutes = int(elapsed.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} 分钟", f"{minutes} minutes"
    return f"{minutes // 60} 小时", f"{minutes // 60} hours"


# --- WeChat's answers ----------------------------------------------------------------------


def check_pay_key(gateway: PaymentGateway) -> Finding:
    """Ask WeChat Pay about an order that cannot exist, signed with our key: ORDERNOTEXIST
    means the merchant id and the key were accepted; a signature error means the key is not
    the one in 商户平台."""
    name = "pay_key"
    try:
        state = gateway.query("DOCTOR" + secrets.token_hex(12))
    except GatewayError as error:
        if error.outcome_unknown:
            return _block(
                name,
                f"没有收到微信支付的有效应答（{error.message}）：无法确认支付密钥。",
                f"No usable answer from WeChat Pay ({error.code}): the pay key is unconfirmed.",
                "检查服务器能否访问 api.mch.weixin.qq.com，然后重试。 "
                "Check that this server reaches api.mch.weixin.qq.com, then retry.",
            )
        if "签名" in error.message:
            return _block(
                name,
                "微信支付拒绝了签名：WECHAT_PAY_API_KEY 不是商户平台里设置的 APIv2 密钥。",
                "WeChat Pay refused the signature: WECHAT_PAY_API_KEY is not the merchant's "
                "APIv2 key.",
                "在 商户平台 → 账户中心 → API安全 重设 APIv2 密钥并填入。 "
                "Set the APIv2 key in 商户平台 and copy it here.",
            )
        return _block(
            name,
            f"微信支付应答 {error.code}：{error.message}。",
            f"WeChat Pay answered {error.code}: {error.message}.",
            "核对 WECHAT_MCH_ID、WECHAT_APPID，以及商户号是否绑定了这个公众号。 "
            "Check the merchant id, the AppID and that they are bound to each other.",
        )
    if state.state != "NOTEXIST":
        return _block(
            name,
            f"查询一个不存在的订单，微信支付却答 {state.state}。",
            f"WeChat Pay answered {state.state} about an order that does not exist.",
            "检查 WECHAT_PAY_API_BASE 是否指向微信支付。 Check WECHAT_PAY_API_BASE.",
        )
    return _ok(
        name,
        "微信支付接受了商户号和 APIv2 密钥的签名。",
        "WeChat Pay accepted the merchant id and the APIv2 key's signature.",
    )


def check_app_secret(access_token: Callable[[], str]) -> Finding:
    """The 公众号's AppSecret, by the access token the shop shares between processes (a token
    still valid is reused, so this fetches nothing when the shop has one)."""
    from wechatpy.exceptions import WeChatClientException

    from app.wechat.api_errors import explain

    name = "app_secret"
    try:
        access_token()
    except WeChatClientException as error:
        return _block(
            name,
            f"公众号拒绝发放 access_token：{explain(error.errcode, error.errmsg or '')}",
            f"The Official Account refused an access token (errcode {error.errcode}).",
            "核对 WECHAT_APP_SECRET 和公众号的 IP 白名单。 "
            "Check WECHAT_APP_SECRET and the account's IP allow-list.",
        )
    except Exception as error:  # network, time-out, a token store that is down
        return _warn(
            name,
            f"没能向公众号取得 access_token（{type(error).__name__}），无法确认 AppSecret。",
            f"Could not get an access token ({type(error).__name__}): AppSecret unconfirmed.",
            "检查服务器能否访问 api.weixin.qq.com。 Check that this server reaches it.",
        )
    return _ok(name, "公众号的 AppSecret 可用。", "The Official Account's AppSecret works.")


# --- the public address, as the world sees it ----------------------------------------------


@dataclass(frozen=True)
class PublicProbe:
    """What fetching PUBLIC_BASE_URL + /healthz from this server gave."""

    status: int | None = None  # None: no answer
    forwarded_for: int | None = None  # from /healthz's answer, when it is the shop's
    failure: str = ""  # why there was no answer
    certificate_refused: bool = False


def probe_public(base_url: str, http: requests.Session) -> PublicProbe:
    url = base_url.rstrip("/") + "/healthz"
    try:
        answer = http.get(url, timeout=PUBLIC_PROBE_TIMEOUT, allow_redirects=False)
    except requests.exceptions.SSLError:
        return PublicProbe(failure="SSLError", certificate_refused=True)
    except (requests.RequestException, OSError) as error:
        # Not the message: requests puts the whole URL in it.
        return PublicProbe(failure=type(error).__name__)
    try:
        body = answer.json()
    except ValueError:
        body = None
    seen = body.get("forwarded_for") if isinstance(body, dict) else None
    return PublicProbe(status=answer.status_code, forwarded_for=seen if type(seen) is int else None)


def check_public_reachable(probe: PublicProbe) -> Finding:
    name = "public_reachable"
    if probe.certificate_refused:
        return _block(
            name,
            "公网地址的 https 证书无效：微信不会把支付通知发到那里。",
            "The public address's https certificate is refused: WeChat will not notify it.",
            "为域名配置有效证书（如 Let's Encrypt），见 docs/deploy.md。 "
            "Install a valid certificate for the domain.",
        )
    if probe.status == 200 and probe.forwarded_for is not None:
        return _ok(
            name,
            "从本机能通过公网地址访问到店铺（这不能证明微信的服务器也能访问）。",
            "The shop answers at its public address from here (which does not prove "
            "WeChat's servers can reach it).",
        )
    seen = f"HTTP {probe.status}" if probe.status else probe.failure
    return _warn(
        name,
        f"从本机通过公网地址没能访问到店铺的 /healthz（{seen}），无法判断通知地址是否可达。",
        f"The shop's /healthz did not answer at the public address from here ({seen}): "
        "cannot tell whether WeChat reaches the notify URL.",
        "检查 DNS、防火墙和反向代理，然后在外网打开 PUBLIC_BASE_URL/healthz。 "
        "Check DNS, firewall and proxy; open PUBLIC_BASE_URL/healthz from outside.",
    )


def check_proxy_hops(config: Mapping, probe: PublicProbe) -> Finding:
    """PROXY_FIX_HOPS against the proxies the probe passed: each adds one address to
    X-Forwarded-For, and the probe sent none of its own."""
    name = "proxy_hops"
    hops = int(config["PROXY_FIX_HOPS"] or 0)
    seen = probe.forwarded_for
    if seen is None:
        return _warn(
            name,
            f"没能经公网地址访问 /healthz，无法核对 PROXY_FIX_HOPS（现为 {hops}）。",
            f"/healthz was not reached at the public address: cannot check PROXY_FIX_HOPS "
            f"({hops}).",
            "先解决上面的公网访问问题。 Fix the public address first.",
        )
    if hops == seen:
        return _ok(
            name,
            f"PROXY_FIX_HOPS = {hops}，与经过的代理数一致。",
            f"PROXY_FIX_HOPS = {hops} matches the proxies in front of the shop.",
        )
    todo = (
        f"设置 PROXY_FIX_HOPS = {seen}（店铺前的代理数）。 "
        f"Set PROXY_FIX_HOPS = {seen}, the number of proxies."
    )
    if hops > seen:
        return _block(
            name,
            f"PROXY_FIX_HOPS = {hops}，但请求只经过 {seen} 个代理：读者可以伪造自己的 IP，"
            "绕过按 IP 的限制。",
            f"PROXY_FIX_HOPS = {hops} but requests pass {seen} proxies: readers can forge "
            "their IP and slip past per-IP limits.",
            todo,
        )
    return _block(
        name,
        f"PROXY_FIX_HOPS = {hops}，但请求经过 {seen} 个代理：所有读者看起来都来自代理的地址"
        "（H5 支付要把读者的真实 IP 交给微信，按 IP 的限制也会一起锁住所有人）。",
        f"PROXY_FIX_HOPS = {hops} but requests pass {seen} proxies: every reader seems to "
        "come from a proxy (H5 pay sends the reader's IP to WeChat; per-IP limits lock "
        "everyone out together).",
        todo,
    )


# --- all of them -----------------------------------------------------------------------------


@dataclass(frozen=True)
class World:
    """What the checks look at, gathered by the command (or a test)."""

    config: Mapping
    instance_path: str
    health: Health
    last_reconcile: JobRun | None
    now: datetime
    workers: int
    gateway: PaymentGateway | None = None  # None: offline
    access_token: Callable[[], str] | None = None
    probe: PublicProbe | None = None
    last_backup: JobRun | None = None


def examine(world: World) -> list[Finding]:
    """Every finding, in the order a creator would fix them; offline checks left out."""
    config = world.config
    findings = [
        check_sandbox(config),
        check_public_base_url(config),
        check_wechat_keys(config),
    ]
    if world.gateway is not None:
        findings.append(check_pay_key(world.gateway))
    if world.access_token is not None:
        findings.append(check_app_secret(world.access_token))
    if world.probe is not None:
        findings.append(check_public_reachable(world.probe))
        findings.append(check_proxy_hops(config, world.probe))
    findings += [
        check_domains(
            config, sorted(p.name for p in Path(world.instance_path).glob("MP_verify_*.txt"))
        ),
        check_database(world.health),
        check_folders(world.instance_path, config["UPLOAD_FOLDER"]),
        check_secret_key(config, world.instance_path),
        check_reconcile(world.last_reconcile, world.now),
        check_backup(world.last_backup, world.now),
        check_rate_limit_storage(config, world.workers),
    ]
    return findings


ONLINE_CHECKS = 4  # pay key, AppSecret, public address, proxy hops


def blocks(findings: list[Finding]) -> bool:
    return any(f.level is Level.BLOCK for f in findings)
