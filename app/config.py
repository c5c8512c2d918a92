"""Configuration defaults.

Layers, later ones win: these defaults, then ``instance/config.py``, then ``FLASK_*``
environment variables (``FLASK_WECHAT_APPID=...`` sets ``WECHAT_APPID``). ``finalize``
fills in what depends on the instance folder and decides whether the sandbox is on.
"""

import hashlib
import os
import re
import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import click
from flask import Flask


class DefaultConfig:
    SECRET_KEY = None  # generated once into instance/secret_key when not configured
    SQLALCHEMY_DATABASE_URI = None  # default: SQLite at instance/shop.db

    # Guests are identified by their session cookie alone until they bind WeChat,
    # so the cookie lives long and is never readable from JavaScript.
    PERMANENT_SESSION_LIFETIME = timedelta(days=365)
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # None: secure (sent over https only) exactly when PUBLIC_BASE_URL is https. A shop served
    # over https must never let its session cookie travel in clear text; set True or False
    # to decide otherwise (e.g. True behind a proxy with PUBLIC_BASE_URL unset).
    SESSION_COOKIE_SECURE = None
    REMEMBER_COOKIE_SECURE = None

    # WeChat: all four credentials empty is the demo, which runs the sandbox; any of them set
    # means a live shop, which needs all of them (see check_wechat).
    WECHAT_APPID = ""
    WECHAT_APP_SECRET = ""
    WECHAT_MCH_ID = ""
    WECHAT_PAY_API_KEY = ""
    WECHAT_PAY_CERT_PATH = ""
    WECHAT_PAY_KEY_PATH = ""
    WECHAT_PAY_API_BASE = ""
    WECHAT_SANDBOX = None  # None: on only while every WeChat credential is empty
    WECHAT_HTTP_TIMEOUT = 10  # seconds, for every call to WeChat
    # Where wechatpy sends OAuth calls; empty means WeChat itself (or the sandbox when it is on).
    WECHAT_OAUTH_BASE_URL = ""
    WECHAT_API_BASE_URL = ""
    WECHAT_MENU = None  # the 公众号's custom menu (a dict or its JSON); None: the default
    WECHAT_TOKEN = ""  # 公众号 server config's Token: the message callback is off without it
    WECHAT_ENCODING_AES_KEY = ""  # its EncodingAESKey, for safe (encrypted) mode
    # Where the 公众号's access token and JS-SDK ticket are kept for every process: empty, the
    # database; or a Redis URL (redis://host:6379/0).
    WECHAT_TOKEN_REDIS_URL = ""
    # Template ids (模板消息) for the messages after a payment: to the buyer of an item, to a
    # reader who tipped, and the creator's notice of a new order or tip. A template id set
    # in the studio wins over these; see app/wechat/message_settings.py.
    WECHAT_TEMPLATE_PURCHASE = ""
    WECHAT_TEMPLATE_TIP = ""
    WECHAT_TEMPLATE_CREATOR = ""
    WECHAT_TEMPLATE_MEMBERSHIP = ""
    # WeChat's JS-SDK, which live pages load inside WeChat only (share cards); WeChat serves it
    # to its own browser. The sandbox serves a stand-in instead.
    WECHAT_JSSDK_URL = "https://res.wx.qq.com/open/js/jweixin-1.6.0.js"
    PUBLIC_BASE_URL = ""  # e.g. https://shop.example.com; used for URLs that WeChat calls back
    # An order is credited to the share card, poster or 公众号 link that brought its reader
    # when placed within this many days of it (the last such link wins).
    ATTRIBUTION_WINDOW_DAYS = 7
    POSTER_QR_DAYS = 30  # a poster's 带参数二维码 lives this long (WeChat allows at most 30)

    ORDER_TTL_MINUTES = 120  # an unpaid order closes after this (WeChat's time_expire)
    PAY_QUERY_MIN_INTERVAL = 5  # seconds between queries to WeChat about one pending order
    RECONCILE_AFTER_MINUTES = 5  # `flask orders reconcile` asks about orders older than this
    REFUND_REVOKES_ACCESS = True  # a full refund takes the reader's access away
    API_RATE_LIMIT = "60 per minute"  # per IP, for the JSON API

    # The sandbox's WeChat Pay: WeChat's notification retry schedule, compressed by this factor;
    # a background thread that delivers notifications (None: on unless testing); the minimum
    # age (seconds) before closeorder works, as WeChat's; how long a refund stays PROCESSING.
    SANDBOX_NOTIFY_TIME_SCALE = 1 / 60
    SANDBOX_NOTIFY_WORKER = None
    SANDBOX_CLOSE_MIN_AGE = 300  # WeChat will not close an order in its first 5 minutes
    SANDBOX_REFUND_DELAY = 0

    # Error reports to Sentry (or GlitchTip): off unless a DSN is set; see app/error_reporting.py
    # for what is never sent.
    SENTRY_DSN = ""
    SENTRY_ENVIRONMENT = "production"

    SHOP_TIMEZONE = "Asia/Shanghai"
    PROXY_FIX_HOPS = 0  # number of trusted reverse proxies in front of the shop
    UPLOAD_FOLDER = None  # default: instance/uploads
    # The ffmpeg that probes and transcodes audio and video lessons; empty: the one inside
    # the imageio-ffmpeg wheel (app/media/ffmpeg.py).
    FFMPEG_BINARY = ""
    # `flask shop backup` writes its archives here and keeps the newest BACKUP_KEEP of them.
    # They hold the secret key and readers' data: copy them off the server, keep them private.
    BACKUP_FOLDER = None  # default: instance/backups
    BACKUP_KEEP = 14
    # Behind nginx: the URL prefix of its `internal` location for UPLOAD_FOLDER (e.g.
    # "/_uploads/", see deploy/nginx/shop.conf). Paid downloads are then answered with an
    # X-Accel-Redirect header after the entitlement check and nginx sends the bytes, so a big
    # file on a slow phone never holds a Python worker. Empty: the shop sends files itself.
    X_ACCEL_REDIRECT_PREFIX = ""

    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    # Failed creator logins, counted in the database (app/login_throttle.py): per IP, and
    # per username against guessers with many IPs (short, as it also stops the creator).
    CREATOR_LOGIN_LIMIT = "5 per minute;30 per hour"
    CREATOR_LOGIN_USERNAME_LIMIT = "10 per 15 minutes"

    # Catalog pages are rendered once per catalog change (and per set of reader facts for a
    # signed-in reader) and served from memory.
    PAGE_CACHE_SIZE = 512
    PAGE_CACHE_VERSION_TTL = 1.0  # seconds a catalog change may take to reach cached pages
    PAGE_CACHE_MAX_BYTES = 32 * 1024 * 1024  # of page bodies per worker
    ROLLUP_FOLD_LAG_SECONDS = 5.0  # payment events younger than this wait for the next fold
    PAGE_VIEW_FLUSH_SECONDS = 30.0  # product views are added to the funnel in batches this often
    # The largest request body: a 50 MB download file plus its form. Larger ones get a 413.
    # Only the signed-in creator's studio takes that much (see app/request_limits.py).
    MAX_CONTENT_LENGTH = 60 * 1024 * 1024
    API_MAX_BODY_BYTES = 8 * 1024  # a JSON API body (an order, a tip) is a few hundred bytes
    FORM_MAX_BODY_BYTES = 64 * 1024  # any other request body: readers' forms, sign-in, sandbox


# WeChat ids and keys must be strings even when the environment spells them as numbers
# (from_prefixed_env parses FLASK_WECHAT_MCH_ID=1900000109 as an int).
_STRING_KEYS = (
    "WECHAT_APPID",
    "WECHAT_APP_SECRET",
    "WECHAT_MCH_ID",
    "WECHAT_PAY_API_KEY",
    "WECHAT_PAY_CERT_PATH",
    "WECHAT_PAY_KEY_PATH",
    "WECHAT_PAY_API_BASE",
    "WECHAT_OAUTH_BASE_URL",
    "WECHAT_API_BASE_URL",
    "WECHAT_TOKEN",
    "WECHAT_ENCODING_AES_KEY",
    "WECHAT_TOKEN_REDIS_URL",
    "WECHAT_TEMPLATE_PURCHASE",
    "WECHAT_TEMPLATE_TIP",
    "WECHAT_TEMPLATE_CREATOR",
    "WECHAT_TEMPLATE_MEMBERSHIP",
    "PUBLIC_BASE_URL",
    "SENTRY_DSN",
    "X_ACCEL_REDIRECT_PREFIX",
    "FFMPEG_BINARY",
)

SANDBOX_APPID = "wx5a4db0d8e0sandbx"
SANDBOX_MCH_ID = "1900000109"


class ConfigurationError(click.ClickException):
    """A configuration the shop must not start with. A ClickException, so `flask` commands end
    with this one message rather than a traceback; gunicorn stops on it ("failed to boot")."""

    def __init__(self, problems: list[str]):
        super().__init__("配置不完整，商店不会启动:\n" + "\n".join(f"  - {p}" for p in problems))
        self.problems = problems


def finalize(app: Flask) -> None:
    config = app.config
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)

    for key in _STRING_KEYS:
        config[key] = "" if config.get(key) is None else str(config[key]).strip()

    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = _load_or_create_secret(instance / "secret_key")
    if not config.get("SQLALCHEMY_DATABASE_URI"):
        config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance / 'shop.db'}"
    if not config.get("UPLOAD_FOLDER"):
        config["UPLOAD_FOLDER"] = str(instance / "uploads")
    if not config.get("BACKUP_FOLDER"):
        config["BACKUP_FOLDER"] = str(instance / "backups")

    served_over_https = config["PUBLIC_BASE_URL"].lower().startswith("https://")
    for key in ("SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE"):
        if config.get(key) is None:
            config[key] = served_over_https

    sandbox_by_name = config.get("WECHAT_SANDBOX") not in (None, "")
    config["WECHAT_SANDBOX"] = sandbox_mode(config)
    problems = check_message_templates(config, sandbox_by_name) + check_token_store(config)
    problems += check_error_reporting(config)
    if config["WECHAT_SANDBOX"]:
        _fill_sandbox_credentials(config)
        problems += check_official_account(config)
    else:
        problems += check_wechat(config) + check_official_account(config)
    if problems:
        raise ConfigurationError(problems)


# The credentials of a live shop. Any one of them set means the creator is going live.
WECHAT_CREDENTIALS = ("WECHAT_APPID", "WECHAT_APP_SECRET", "WECHAT_MCH_ID", "WECHAT_PAY_API_KEY")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def sandbox_mode(config) -> bool:
    """Whether the built-in WeChat stand-in runs: when asked for by name, or when no WeChat
    credential is set at all (the demo). Never because one key of a live shop is missing:
    the sandbox lets anyone pay any order, so half a live configuration must refuse to start."""
    value = config.get("WECHAT_SANDBOX")
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE | _FALSE:
            return word in _TRUE
        if word:
            raise ConfigurationError([f"WECHAT_SANDBOX 只能是 true 或 false（现在是 {value!r}）"])
        value = None
    if value is None:
        return not any(config[key] for key in WECHAT_CREDENTIALS)
    return bool(value)


# WeChat's own formats: an AppID is "wx" and 16 letters or digits; a merchant id is digits;
# an APIv2 key is exactly 32 letters or digits (商户平台 refuses any other).
_FORMATS = {
    "WECHAT_APPID": (re.compile(r"wx[0-9A-Za-z]{16}"), "应为 wx 加 16 位字母或数字"),
    "WECHAT_MCH_ID": (re.compile(r"[0-9]{6,20}"), "应为数字"),
    "WECHAT_PAY_API_KEY": (re.compile(r"[0-9A-Za-z]{32}"), "应为 32 位字母或数字"),
}
_LABELS = {
    "WECHAT_APPID": "公众号 AppID",
    "WECHAT_APP_SECRET": "公众号 AppSecret",
    "WECHAT_MCH_ID": "商户号",
    "WECHAT_PAY_API_KEY": "APIv2 密钥",
    "WECHAT_PAY_CERT_PATH": "商户证书",
    "WECHAT_PAY_KEY_PATH": "证书私钥",
}


def check_wechat(config) -> list[str]:
    """Every problem with a live shop's WeChat settings, one line each (empty: all good).
    Values are never quoted: they may be secrets."""
    problems = []
    for key in WECHAT_CREDENTIALS:
        value = config[key]
        if not value:
            problems.append(f"{key}（{_LABELS[key]}）未设置")
        elif key in _FORMATS and not _FORMATS[key][0].fullmatch(value):
            problems.append(f"{key}（{_LABELS[key]}）格式不对：{_FORMATS[key][1]}")

    cert, key = config["WECHAT_PAY_CERT_PATH"], config["WECHAT_PAY_KEY_PATH"]
    if bool(cert) != bool(key):
        missing = "WECHAT_PAY_KEY_PATH" if cert else "WECHAT_PAY_CERT_PATH"
        problems.append(f"{missing}（{_LABELS[missing]}）未设置：退款需要证书和私钥两个文件")
    for name, path in (("WECHAT_PAY_CERT_PATH", cert), ("WECHAT_PAY_KEY_PATH", key)):
        if path and not Path(path).is_file():
            problems.append(f"{name}（{_LABELS[name]}）指向的文件不存在")

    base = urlsplit(config["PUBLIC_BASE_URL"])
    if base.scheme not in ("http", "https") or not base.netloc:
        problems.append(
            "PUBLIC_BASE_URL 未设置或不是网址：微信的支付通知要发到店铺的公网地址，"
            "如 https://shop.example.com"
        )
    return problems


def _load_or_create_secret(path: Path) -> str:
    try:
        # O_EXCL: when several workers start at once, exactly one writes the key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    key = secrets.token_hex(32)
    with os.fdopen(fd, "w") as f:
        f.write(key)
    return key


# The 公众号's server configuration: a Token of 3 to 32 letters or digits, an EncodingAESKey
# of exactly 43 (WeChat's admin page makes or checks both that way).
_TOKEN = re.compile(r"[0-9A-Za-z]{3,32}")
_AES_KEY = re.compile(r"[0-9A-Za-z]{43}")


def check_official_account(config) -> list[str]:
    """Problems with the message callback's settings. No Token: the callback is off. An
    EncodingAESKey without a Token is half a configuration."""
    token, aes_key = config["WECHAT_TOKEN"], config["WECHAT_ENCODING_AES_KEY"]
    problems = []
    if token and not _TOKEN.fullmatch(token):
        problems.append("WECHAT_TOKEN（公众号服务器配置的令牌）格式不对：应为 3 到 32 位字母或数字")
    if aes_key and not token:
        problems.append("WECHAT_TOKEN（公众号服务器配置的令牌）未设置：EncodingAESKey 需要它")
    if aes_key and not _AES_KEY.fullmatch(aes_key):
        problems.append("WECHAT_ENCODING_AES_KEY（消息加解密密钥）格式不对：应为 43 位字母或数字")
    return problems


def check_token_store(config) -> list[str]:
    """WECHAT_TOKEN_REDIS_URL must name a Redis server (redis://, rediss:// or unix://)."""
    url = config["WECHAT_TOKEN_REDIS_URL"]
    if url and not url.startswith(("redis://", "rediss://", "unix://")):
        return [
            "WECHAT_TOKEN_REDIS_URL（保存微信 access_token 的 Redis）格式不对："
            "应以 redis://、rediss:// 或 unix:// 开头"
        ]
    return []


def check_error_reporting(config) -> list[str]:
    """SENTRY_DSN must be a DSN (https://key@host/project): a typo must not silently report
    nothing."""
    dsn = config["SENTRY_DSN"]
    if not dsn:
        return []
    from sentry_sdk.utils import BadDsn, Dsn

    try:
        Dsn(dsn)
    except BadDsn:
        return ["SENTRY_DSN（错误报告地址）格式不对：应形如 https://公钥@sentry.example.com/1"]
    return []


# Template ids as 公众号后台 shows them (letters, digits, - and _), also checked in the studio.
TEMPLATE_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")
TEMPLATE_KEYS = (
    "WECHAT_TEMPLATE_PURCHASE",
    "WECHAT_TEMPLATE_TIP",
    "WECHAT_TEMPLATE_CREATOR",
    "WECHAT_TEMPLATE_MEMBERSHIP",
)


def check_message_templates(config, sandbox_by_name: bool) -> list[str]:
    """Problems with the template ids of the 公众号's messages. Template messages come
    from a real 公众号: ids set without its AppID and AppSecret are half a configuration (the
    demo's sandbox would take every message), unless the sandbox is asked for by name to try
    them there. A live shop's missing credentials are check_wechat's to name."""
    configured = [key for key in TEMPLATE_KEYS if config[key]]
    problems = [
        f"{key}（模板消息的模板 ID）格式不对：应为字母、数字、- 或 _"
        for key in configured
        if not TEMPLATE_ID.fullmatch(config[key])
    ]
    if configured and config["WECHAT_SANDBOX"] and not sandbox_by_name:
        problems.append(
            f"{'、'.join(configured)}（模板消息）已设置，但 WECHAT_APPID 与 WECHAT_APP_SECRET "
            "未设置：模板消息由公众号发出，需要它的 AppID 和 AppSecret"
            "（只想在沙箱里试用，请设置 WECHAT_SANDBOX = True）"
        )
    return problems


def _fill_sandbox_credentials(config) -> None:
    """In sandbox mode any keys will do; derive stable ones so restarts keep sessions valid."""

    def derived(label: str) -> str:
        return hashlib.sha256(f"{config['SECRET_KEY']}:{label}".encode()).hexdigest()[:32]

    config["WECHAT_APPID"] = config["WECHAT_APPID"] or SANDBOX_APPID
    config["WECHAT_APP_SECRET"] = config["WECHAT_APP_SECRET"] or derived("app-secret")
    config["WECHAT_MCH_ID"] = config["WECHAT_MCH_ID"] or SANDBOX_MCH_ID
    config["WECHAT_PAY_API_KEY"] = config["WECHAT_PAY_API_KEY"] or derived("pay-api-key")
    config["WECHAT_TOKEN"] = config["WECHAT_TOKEN"] or derived("callback-token")
