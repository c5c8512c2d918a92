"""Configuration defaults.

Layers, later ones win: these defaults, then ``instance/config.py``, then ``FLASK_*``
environment variables (``FLASK_WECHAT_APPID=...`` sets ``WECHAT_APPID``). ``finalize``
fills in what depends on the instance folder and decides whether the sandbox is on.
"""

import hashlib
import os
import secrets
from datetime import timedelta
from pathlib import Path

from flask import Flask


class DefaultConfig:
    SECRET_KEY = None  # generated once into instance/secret_key when not configured
    SQLALCHEMY_DATABASE_URI = None  # default: SQLite at instance/shop.db

    # Guests are identified by their session cookie alone until they bind WeChat,
    # so the cookie lives long and is never readable from JavaScript.
    PERMANENT_SESSION_LIFETIME = timedelta(days=365)
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"

    # WeChat: all empty means "no real credentials", which turns the sandbox on.
    WECHAT_APPID = ""
    WECHAT_APP_SECRET = ""
    WECHAT_MCH_ID = ""
    WECHAT_PAY_API_KEY = ""
    WECHAT_PAY_CERT_PATH = ""
    WECHAT_PAY_KEY_PATH = ""
    WECHAT_PAY_API_BASE = ""
    WECHAT_SANDBOX = None  # None: on while WECHAT_APPID or WECHAT_APP_SECRET is missing
    WECHAT_HTTP_TIMEOUT = 10  # seconds, for every call to WeChat
    # Where wechatpy sends OAuth calls; empty means WeChat itself (or the sandbox when it is on).
    WECHAT_OAUTH_BASE_URL = ""
    WECHAT_API_BASE_URL = ""
    PUBLIC_BASE_URL = ""  # e.g. https://shop.example.com; used for URLs that WeChat calls back

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

    SHOP_TIMEZONE = "Asia/Shanghai"
    PROXY_FIX_HOPS = 0  # number of trusted reverse proxies in front of the shop
    UPLOAD_FOLDER = None  # default: instance/uploads

    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    # Failed creator logins, counted in the database (app/login_throttle.py): per IP, and
    # per username against guessers with many IPs (short, as it also stops the creator).
    CREATOR_LOGIN_LIMIT = "5 per minute;30 per hour"
    CREATOR_LOGIN_USERNAME_LIMIT = "10 per 15 minutes"

    # Anonymous catalog pages are rendered once per catalog change and served from memory.
    PAGE_CACHE_SIZE = 512
    PAGE_CACHE_VERSION_TTL = 1.0  # seconds a catalog change may take to reach cached pages
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
    "PUBLIC_BASE_URL",
)

SANDBOX_APPID = "wx5a4db0d8e0sandbx"
SANDBOX_MCH_ID = "1900000109"


def finalize(app: Flask) -> None:
    config = app.config
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)

    for key in _STRING_KEYS:
        config[key] = "" if config.get(key) is None else str(config[key])

    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = _load_or_create_secret(instance / "secret_key")
    if not config.get("SQLALCHEMY_DATABASE_URI"):
        config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance / 'shop.db'}"
    if not config.get("UPLOAD_FOLDER"):
        config["UPLOAD_FOLDER"] = str(instance / "uploads")

    if config.get("WECHAT_SANDBOX") is None:
        config["WECHAT_SANDBOX"] = not (config["WECHAT_APPID"] and config["WECHAT_APP_SECRET"])
    if config["WECHAT_SANDBOX"]:
        _fill_sandbox_credentials(config)


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


def _fill_sandbox_credentials(config) -> None:
    """In sandbox mode any keys will do; derive stable ones so restarts keep sessions valid."""

    def derived(label: str) -> str:
        return hashlib.sha256(f"{config['SECRET_KEY']}:{label}".encode()).hexdigest()[:32]

    config["WECHAT_APPID"] = config["WECHAT_APPID"] or SANDBOX_APPID
    config["WECHAT_APP_SECRET"] = config["WECHAT_APP_SECRET"] or derived("app-secret")
    config["WECHAT_MCH_ID"] = config["WECHAT_MCH_ID"] or SANDBOX_MCH_ID
    config["WECHAT_PAY_API_KEY"] = config["WECHAT_PAY_API_KEY"] or derived("pay-api-key")
