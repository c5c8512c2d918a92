"""Load test: readers browsing, signing in, buying and tipping, then an audit of the money.

Run from the repository root (PostgreSQL must be installed; nothing else of the machine's is
touched):

    .venv/bin/python bench/load.py                      # 200 readers for 60 s
    .venv/bin/python bench/load.py --readers 20 --seconds 15

It starts a throwaway PostgreSQL cluster on 127.0.0.1 (initdb into a temporary folder, run as
the postgres user when started as root, as .ci/run does), migrates a fresh shop into it
(`flask db upgrade`, a temporary SHOP_INSTANCE_PATH, FLASK_SQLALCHEMY_DATABASE_URI), loads the
demo shop (`flask shop demo`) and serves it with gunicorn as production does: gthread workers,
as many processes and threads as app/serving.py's worker_count() and thread_count() say, the
sandbox on, its notification worker delivering WeChat Pay's notifications, and the shop told
one proxy stands in front of it (PROXY_FIX_HOPS=1), so each reader has an address of its own
as behind nginx.

Then N readers (an asyncio client in this process) each open the shop inside WeChat, sign in
through the sandbox's WeChat authorisation as a new sandbox user of their own, and until the
time is up browse (home, item pages, search, 已购), buy items they do not own (the confirm
page, the form, the JSAPI pay page, paying at the sandbox's WeixinJSBridge stand-in as the
phone does, polling the order's status, opening what they bought) and tip the creator (the
JSON API, a Native QR code paid by scanning with the reader's phone, polling the order), with
a pause between actions. Every answer is counted.

When the time is up it waits (bounded) until the sandbox has delivered every notification
that is due, then audits from the database: every order the sandbox took money for is paid in
the shop with the same transaction, the buyer holds the item, a tip has its tip row; nothing
is fulfilled twice (a second 'paid' event, two orders for one transaction, a second tip row);
and the shop's bill check (`flask orders bill --date`) against the sandbox's bill for each
Beijing day of the run finds no difference. Every process it starts is stopped and every
folder deleted before it exits.

The last line is machine-readable:

    RESULT rps=... p50_ms=... p99_ms=... errors_5xx=... lost=... doubled=... bill_differences=...

rps counts every request of the load phase; p50/p99 are over page GETs only (HTML pages of the
shop a reader looks at, not redirects, polls, API or sandbox calls). Targets: no 5xx, nothing
lost or doubled, no bill difference, page p99 < 300 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import glob
import html
import json
import os
import platform
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from importlib import metadata
from pathlib import Path
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

from notify import run_step

# The storefront benchmark's helpers (bench/ is on sys.path as the script's folder).
from storefront import (
    ACCEPT,
    HOST,
    WECHAT_USER_AGENT,
    BenchError,
    Processes,
    cookie_updates,
    decode_body,
    free_port,
    gunicorn,
    percentile,
    shop_env,
)

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from app.serving import thread_count, worker_count  # noqa: E402  (plain Python, no Flask app)

BEIJING = ZoneInfo("Asia/Shanghai")
SETUP_TIMEOUT = 300.0
REQUEST_TIMEOUT = 30.0
PAID_WITHIN = 30.0  # seconds a reader waits for their order to show as paid
POLL_EVERY = 1.0  # the pay pages poll about this often at first (static/js/pay-schedule.js)
DRAIN_TIMEOUT = 60.0  # the sandbox's notifications must all be delivered within this
MAX_PAGE_P99_MS = 300.0
TIP_FEN = 100
PAID_STATES = ("paid", "partially_refunded", "refunded")
INSTALL_HINT = (
    "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb). On Debian or Ubuntu: "
    "`apt-get install postgresql` (the script starts its own cluster; the packaged service "
    "need not run)."
)


# --- PostgreSQL, a cluster of our own ----------------------------------------------------------


@contextlib.contextmanager
def postgres_cluster(procs: Processes):
    """initdb into a temporary folder, serve it on a free loopback port; yields the URL."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_major_version)
    if not found:
        raise BenchError(INSTALL_HINT)
    bin_dir = Path(found[-1]).parent
    data = Path(tempfile.mkdtemp(prefix="load-bench-pg-"))
    as_owner: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        shutil.chown(data, "postgres", "postgres")
        as_owner = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    log = data / "server.log"
    try:
        run_step([*as_owner, str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U",
              "postgres", "-E", "UTF8", "--locale=C.UTF-8"], None, procs, "initdb")  # fmt: skip
        options = f"-p {port} -k {data} -c listen_addresses={HOST} -c max_connections=200"
        run_step([*as_owner, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w",
              "-t", "60", "-o", options, "start"], None, procs, "starting PostgreSQL")  # fmt: skip
        run_step([*as_owner, str(bin_dir / "createdb"), "-h", HOST, "-p", str(port), "-U",
              "postgres", "shop"], None, procs, "createdb")  # fmt: skip
        yield f"postgresql+psycopg://postgres@{HOST}:{port}/shop", bin_dir.parent.name
    finally:
        with contextlib.suppress(BenchError):
            run_step([*as_owner, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w",
                  "stop"], None, procs, "stopping PostgreSQL")  # fmt: skip
        shutil.rmtree(data, ignore_errors=True)


def _major_version(initdb: str) -> int:
    return int(re.search(r"/postgresql/(\d+)/", initdb)[1])


def flask(args: list[str], env: dict[str, str], procs: Processes) -> str:
    return run_step([sys.executable, "-m", "flask", *args], env, procs, f"`flask {' '.join(args)}`")


# --- the shop ----------------------------------------------------------------------------------


def bench_env(instance: Path, database_url: str) -> dict[str, str]:
    env = shop_env(instance)
    for name in ("FLASK_WECHAT_APPID", "FLASK_WECHAT_APP_SECRET", "FLASK_WECHAT_MCH_ID",
                 "FLASK_WECHAT_PAY_API_KEY", "FLASK_PUBLIC_BASE_URL"):  # fmt: skip
        env.pop(name, None)
    env["FLASK_SQLALCHEMY_DATABASE_URI"] = database_url
    env["FLASK_WECHAT_SANDBOX"] = "true"
    # Each gunicorn process delivers due notifications from a thread of its own; the rows
    # are claimed by compare-and-set, so several processes never deliver one twice.
    env["FLASK_SANDBOX_NOTIFY_WORKER"] = "true"
    env["FLASK_SECRET_KEY"] = "s" + secrets.token_hex(32)
    # As behind nginx: the reader's address comes in X-Forwarded-For, so the per-IP rate
    # limits and WeChat Pay's spbill_create_ip see each reader, not 127.0.0.1 for everyone.
    env["FLASK_PROXY_FIX_HOPS"] = "1"
    return env


def gunicorn_workers() -> list[str]:
    """The production worker settings (threads, so a slow phone never holds a process), as
    deploy/gunicorn.conf.py sets them; the bench binds, logs and names the app itself."""
    return [
        "--worker-class",
        "gthread",
        "--workers",
        str(worker_count()),
        "--threads",
        str(thread_count()),
    ]


@dataclass(frozen=True)
class Catalog:
    for_sale: list[tuple[str, int]]  # (slug, price_fen) of published paid items
    searches: list[str]


async def read_catalog(port: int) -> Catalog:
    phone = Phone(port, "10.0.0.1", Stats())
    answer = await phone.request("GET", "/api/products", "setup")
    if answer.status != 200:
        raise BenchError(f"GET /api/products answered {answer.status}")
    items = json.loads(answer.text())["items"]
    for_sale = [(item["slug"], item["price_fen"]) for item in items if item["price_fen"] > 0]
    if not for_sale:
        raise BenchError("the demo shop has nothing for sale")
    # Searches a reader might type: the first two characters of titles, and a tag.
    searches = sorted({item["title"][:2] for item in items} | {"产品", "写作"})
    return Catalog(for_sale, searches)


# --- the client: one reader's phone ------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: dict[str, str]  # names in lower case; the last of a repeated header
    body: bytes
    set_cookies: list[str] = field(default_factory=list)

    def text(self) -> str:
        decoded = decode_body(self.body, self.headers.get("content-encoding"))
        return (decoded if decoded is not None else b"").decode("utf-8", "replace")

    @property
    def location(self) -> str:
        parts = urlsplit(self.headers.get("location", ""))
        return parts.path + (f"?{parts.query}" if parts.query else "")


@dataclass
class Stats:
    latencies_ms: dict[str, list[float]] = field(
        default_factory=lambda: collections.defaultdict(list)
    )
    statuses: collections.Counter = field(default_factory=collections.Counter)
    server_errors: collections.Counter = field(default_factory=collections.Counter)
    by_route: dict[str, list[float]] = field(default_factory=lambda: collections.defaultdict(list))
    failures: collections.Counter = field(default_factory=collections.Counter)  # socket, time-out
    problems: collections.Counter = field(default_factory=collections.Counter)  # unexpected
    requests: int = 0


class Phone:
    """A phone in WeChat: WeChat's User-Agent, a cookie jar, its own address (X-Forwarded-For).

    One connection per request with `Connection: close`, as nginx talks to its upstream by
    default, half-closed after the request so gunicorn never waits for our close."""

    def __init__(self, port: int, address: str, stats: Stats, user_agent=WECHAT_USER_AGENT):
        self.port, self.address, self.stats = port, address, stats
        self.user_agent = user_agent
        self.cookies: dict[str, str] = {}

    async def request(
        self, method: str, path: str, label: str, *, form=None, json_body=None
    ) -> Answer:
        body = b""
        headers = [
            f"Host: {HOST}:{self.port}",
            f"User-Agent: {self.user_agent}",
            f"Accept: {ACCEPT if json_body is None else 'application/json'}",
            "Accept-Encoding: gzip",
            "Accept-Language: zh-CN,zh;q=0.9",
            f"X-Forwarded-For: {self.address}",
            "Connection: close",
        ]
        if form is not None:
            body = urlencode(form).encode()
            headers.append("Content-Type: application/x-www-form-urlencoded")
        elif json_body is not None:
            body = json.dumps(json_body).encode()
            headers.append("Content-Type: application/json")
        if method == "POST":
            headers.append(f"Content-Length: {len(body)}")
        if self.cookies:
            headers.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        head = f"{method} {path} HTTP/1.1\r\n" + "\r\n".join(headers) + "\r\n\r\n"
        started = time.perf_counter()
        writer = None
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT):
                reader, writer = await asyncio.open_connection(HOST, self.port)
                writer.write(head.encode() + body)
                writer.write_eof()
                answer = await _read_answer(reader)
        except (OSError, TimeoutError, ValueError, asyncio.IncompleteReadError) as exc:
            self.stats.failures[f"{type(exc).__name__} on {label}"] += 1
            raise ReaderStuck(f"{method} {path}: {type(exc).__name__}") from None
        finally:
            if writer is not None:
                writer.close()
        self.stats.requests += 1
        elapsed_ms = (time.perf_counter() - started) * 1000
        self.stats.latencies_ms[label].append(elapsed_ms)
        self.stats.by_route[f"{method} {_shape(path)}"].append(elapsed_ms)
        self.stats.statuses[answer.status] += 1
        if answer.status >= 500:
            self.stats.server_errors[f"{answer.status} {method} {_shape(path)}"] += 1
        for name, value in cookie_updates(answer.set_cookies).items():
            if value is None:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return answer

    async def expect(self, method: str, path: str, label: str, status: int, **kwargs) -> Answer:
        answer = await self.request(method, path, label, **kwargs)
        if answer.status != status:
            self.stats.problems[f"{method} {_shape(path)} answered {answer.status}"] += 1
            raise ReaderStuck(f"{method} {path} answered {answer.status}, expected {status}")
        return answer


class ReaderStuck(Exception):
    """This reader cannot go on with what it was doing (already counted in the stats)."""


async def _read_answer(reader: asyncio.StreamReader) -> Answer:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *lines = head[:-4].decode("latin-1").split("\r\n")
    headers: dict[str, str] = {}
    set_cookies = []
    for line in lines:
        name, _, value = line.partition(":")
        name, value = name.strip().lower(), value.strip()
        if name == "set-cookie":
            set_cookies.append(value)
        headers[name] = value
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
            chunks.append((await reader.readexactly(size + 2))[:-2])
        while await reader.readuntil(b"\r\n") != b"\r\n":
            pass
        body = b"".join(chunks)
    else:
        body = await reader.read()
    return Answer(int(status_line.split()[1]), headers, body, set_cookies)


def _shape(path: str) -> str:
    """A path with its slugs and ids blurred, so answers group by route."""
    path = path.split("?", 1)[0]
    path = re.sub(r"^/p/[^/]+", "/p/…", path)
    return re.sub(r"/(\d{6,}\w*|[A-Za-z0-9_-]{20,})", "/…", path)


def _form_fields(page: str) -> dict[str, str]:
    """The hidden inputs of a page's first form (csrf_token and the like)."""
    form = re.search(r"<form\b.*?</form>", page, re.S)
    fields = {}
    for tag in re.findall(r"<input\b[^>]*>", form[0] if form else ""):
        name = re.search(r'name="([^"]*)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name and 'type="hidden"' in tag:
            fields[html.unescape(name[1])] = html.unescape(value[1]) if value else ""
    return fields


# --- what a reader does ------------------------------------------------------------------------


@dataclass
class Payment:
    out_trade_no: str
    kind: str  # purchase | tip
    slug: str | None
    seen_paid_after: float | None = None  # seconds from paying to the shop saying paid
    access: bool | None = None  # a purchase: its content opened afterwards


@dataclass
class Run:
    port: int
    catalog: Catalog
    deadline: float
    think: float
    buy_share: float  # of a reader's actions; browsing is what buying and tipping leave
    tip_share: float
    stats: Stats = field(default_factory=Stats)
    payments: list[Payment] = field(default_factory=list)
    signed_in: int = 0
    client_cpu_s: float = 0.0
    stuck: collections.Counter = field(default_factory=collections.Counter)


async def reader_life(run: Run, index: int, rng: random.Random) -> None:
    phone = Phone(
        run.port, f"10.{index // 250 % 250}.{index % 250}.{1 + index // 62500}", run.stats
    )
    # Readers arrive over the first quarter of the run (15 s of a minute), as a crowd from a
    # shared link does, not all in the same instant.
    await asyncio.sleep(rng.uniform(0, (run.deadline - time.monotonic()) / 4))
    try:
        openid = await sign_in(phone, index)
    except ReaderStuck as exc:
        run.stuck[f"signing in: {exc}"] += 1
        return
    run.signed_in += 1
    owned: set[str] = set()
    while time.monotonic() < run.deadline:
        choice = rng.random()
        try:
            if choice < 1 - run.buy_share - run.tip_share:
                await browse(phone, run, rng, owned)
            elif choice < 1 - run.tip_share:
                await buy(phone, run, rng, owned)
            else:
                await tip(phone, run, openid)
        except ReaderStuck as exc:
            run.stuck[str(exc)[:120]] += 1
        await asyncio.sleep(run.think * rng.uniform(0.5, 1.5))


async def sign_in(phone: Phone, index: int) -> str:
    """Open the shop in WeChat; the sandbox's consent page; a new sandbox user; back home."""
    first = await phone.expect("GET", "/", "sign-in", 302)
    login = await phone.expect("GET", first.location, "sign-in", 302)
    consent_path = login.location
    consent = await phone.expect("GET", consent_path, "sign-in", 200)
    fields = _form_fields(consent.text())
    fields.update(new_nickname=f"压测读者{index}", decision="allow")
    back = await phone.expect("POST", consent_path, "sign-in", 302, form=fields)
    callback = await phone.expect("GET", back.location, "sign-in", 302)
    home = await phone.expect("GET", callback.location, "page", 200)
    if 'href="/me"' not in home.text() or "sandbox_wechat_user" not in phone.cookies:
        phone.stats.problems["home after signing in is not a signed-in page"] += 1
        raise ReaderStuck("not signed in after the sandbox's consent")
    return phone.cookies["sandbox_wechat_user"]


async def browse(phone: Phone, run: Run, rng: random.Random, owned: set[str]) -> None:
    pick = rng.random()
    if pick < 0.3:
        await phone.expect("GET", "/", "page", 200)
    elif pick < 0.7:
        slug, _ = rng.choice(run.catalog.for_sale)
        await phone.expect("GET", f"/p/{slug}", "page", 200)
    elif pick < 0.9:
        query = urlencode({"q": rng.choice(run.catalog.searches)})
        await phone.expect("GET", f"/search?{query}", "page", 200)
    else:
        await phone.expect("GET", "/library", "page", 200)


async def buy(phone: Phone, run: Run, rng: random.Random, owned: set[str]) -> None:
    """The item page, 购买, the JSAPI pay page, WeChat's pay sheet, waiting, reading."""
    choices = [(slug, price) for slug, price in run.catalog.for_sale if slug not in owned]
    if not choices:
        return await tip(phone, run, phone.cookies.get("sandbox_wechat_user", ""))
    slug, _ = rng.choice(choices)
    await phone.expect("GET", f"/p/{slug}", "page", 200)
    confirm = await phone.expect("GET", f"/p/{slug}/buy", "page", 200)
    fields = _form_fields(confirm.text())
    if "price_fen" not in fields:
        phone.stats.problems["confirm page without the buy form"] += 1
        raise ReaderStuck(f"/p/{slug}/buy: no buy form")
    placed = await phone.expect("POST", f"/p/{slug}/buy", "order", 302, form=fields)
    pay_path = placed.location
    if not pay_path.startswith("/orders/"):
        phone.stats.problems[f"buying went to {_shape(pay_path)}"] += 1
        raise ReaderStuck(f"buying {slug} went to {pay_path}")
    out_trade_no = pay_path.rsplit("/", 1)[1]
    page = await phone.expect("GET", pay_path, "page", 200)
    found = re.search(r'id="jsapi-params">(.*?)</script>', page.text(), re.S)
    if not found:
        phone.stats.problems["pay page without JSAPI parameters"] += 1
        raise ReaderStuck(f"{pay_path}: no JSAPI parameters")
    params = json.loads(found[1])
    # What the sandbox's WeixinJSBridge does when 支付 is pressed on its sheet.
    checked = await phone.expect("POST", "/sandbox/pay/jsapi/check", "pay", 200, json_body=params)
    if not json.loads(checked.text()).get("ok"):
        phone.stats.problems["the pay sheet refused the order"] += 1
        raise ReaderStuck(f"jsapi/check refused {out_trade_no}: {checked.text()[:80]}")
    paid = await phone.expect("POST", "/sandbox/pay/jsapi/pay", "pay", 200, json_body=params)
    if not json.loads(paid.text()).get("ok"):
        phone.stats.problems["the sandbox refused to pay"] += 1
        raise ReaderStuck(f"jsapi/pay refused {out_trade_no}: {paid.text()[:80]}")
    payment = Payment(out_trade_no, "purchase", slug)
    run.payments.append(payment)
    owned.add(slug)
    status = await wait_until_paid(phone, f"/orders/{out_trade_no}/status", payment)
    if status is not None:
        read = await phone.request("GET", status["next"], "redirect")
        if read.status == 302:  # an item with lessons opens at the reader's lesson
            read = await phone.request("GET", read.location, "page")
        payment.access = read.status == 200
        if not payment.access:
            phone.stats.problems[f"paid item answered {read.status}"] += 1


async def tip(phone: Phone, run: Run, openid: str) -> None:
    """赞赏 through the JSON API, paid by scanning its QR code with the reader's phone."""
    body = {"target": "creator", "amount_fen": TIP_FEN, "channel": "native", "message": "加油"}
    made = await phone.expect("POST", "/api/tips", "order", 201, json_body=body)
    order = json.loads(made.text())
    # The phone that scans: the sandbox knows who holds it (its "current user" cookie).
    scanner = Phone(run.port, phone.address, run.stats)
    scanner.cookies["sandbox_wechat_user"] = openid
    scan_path = urlsplit(order["code_url"]).path
    cashier = await scanner.expect("GET", scan_path, "pay", 200)
    fields = _form_fields(cashier.text())
    fields.update(decision="pay", openid=openid)
    result = await scanner.expect("POST", scan_path, "pay", 200, form=fields)
    if "支付成功" not in result.text():
        phone.stats.problems["scanning did not pay"] += 1
        raise ReaderStuck(f"scanning {order['out_trade_no']} did not pay")
    payment = Payment(order["out_trade_no"], "tip", None)
    run.payments.append(payment)
    await wait_until_paid(phone, f"/api/orders/{order['out_trade_no']}", payment)


async def wait_until_paid(phone: Phone, path: str, payment: Payment) -> dict | None:
    """Poll as the pay page does until the shop says paid (or PAID_WITHIN runs out)."""
    started = time.monotonic()
    while time.monotonic() - started < PAID_WITHIN:
        status = json.loads((await phone.expect("GET", path, "poll", 200)).text())
        if status["status"] == "paid":
            payment.seen_paid_after = time.monotonic() - started
            return status
        await asyncio.sleep(POLL_EVERY)
    phone.stats.problems["paid at the sandbox, not paid here within 30 s"] += 1
    return None


async def run_readers(run: Run, readers: int, seed: int) -> float:
    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(
        *(
            reader_life(run, index, random.Random(seed * 100_003 + index))
            for index in range(readers)
        )
    )
    # The readers' own CPU comes from the same cores as the shop's: say how much it was.
    run.client_cpu_s = time.process_time() - cpu
    return time.perf_counter() - started


# --- the audit ---------------------------------------------------------------------------------


@dataclass
class Audit:
    sandbox_paid: int = 0
    purchases: int = 0
    tips: int = 0
    lost: list[str] = field(default_factory=list)
    doubled: list[str] = field(default_factory=list)
    only_here: list[str] = field(default_factory=list)  # paid here, not at the sandbox
    undelivered: int = 0
    notification_attempts: int = 0
    duplicates_answered: int = 0
    bill_days: list[str] = field(default_factory=list)
    bill_differences: list[str] = field(default_factory=list)


def wait_for_notifications(database_url: str) -> int:
    """Until no notification is due or waiting for a retry; returns how many still wait."""
    deadline = time.monotonic() + DRAIN_TIMEOUT
    while True:
        waiting = _query(
            database_url,
            "SELECT count(*) FROM sandbox_pay_notifications"
            " WHERE delivered_at IS NULL AND next_attempt_at IS NOT NULL",
        )[0][0]
        if not waiting or time.monotonic() > deadline:
            return waiting
        time.sleep(0.5)


def audit(database_url: str) -> Audit:
    found = Audit()
    sandbox = _query(
        database_url,
        "SELECT out_trade_no, transaction_id, total_fee FROM sandbox_pay_orders"
        " WHERE transaction_id IS NOT NULL",
    )
    orders = {
        row[1]: row
        for row in _query(
            database_url,
            "SELECT id, out_trade_no, kind, status, transaction_id, amount_fen, reader_id,"
            " product_id FROM orders",
        )
    }
    paid_events = dict(
        _query(
            database_url,
            "SELECT order_id, count(*) FROM payment_events WHERE kind = 'paid' GROUP BY order_id",
        )
    )
    holdings = {
        (reader, product) for reader, product in _query(
            database_url, "SELECT reader_id, product_id FROM entitlements"
        )
    }  # fmt: skip
    tip_rows = dict(_query(database_url, "SELECT order_id, count(*) FROM tips GROUP BY order_id"))
    per_transaction = collections.Counter(row[4] for row in orders.values() if row[4] is not None)
    found.duplicates_answered = _query(
        database_url, "SELECT count(*) FROM payment_events WHERE kind = 'payment_duplicate'"
    )[0][0]
    found.notification_attempts = _query(
        database_url, "SELECT coalesce(sum(attempts), 0) FROM sandbox_pay_notifications"
    )[0][0]

    for out_trade_no, transaction_id, total_fee in sandbox:
        found.sandbox_paid += 1
        order = orders.get(out_trade_no)
        if order is None:
            found.lost.append(f"{out_trade_no}: paid at the sandbox, no such order here")
            continue
        order_id, _, kind, status, here_txn, amount, reader_id, product_id = order
        found.purchases += kind == "purchase"
        found.tips += kind == "tip"
        if status not in PAID_STATES or here_txn != transaction_id or amount != total_fee:
            found.lost.append(f"{out_trade_no}: {status} here, transaction {here_txn}")
        elif kind == "purchase" and (reader_id, product_id) not in holdings:
            found.lost.append(f"{out_trade_no}: paid, but the reader does not hold the item")
        elif kind == "tip" and not tip_rows.get(order_id):
            found.lost.append(f"{out_trade_no}: a paid tip without its tip row")
        if paid_events.get(order_id, 0) > 1:
            found.doubled.append(f"{out_trade_no}: {paid_events[order_id]} 'paid' events")
        if per_transaction[transaction_id] > 1:
            found.doubled.append(f"{out_trade_no}: transaction {transaction_id} on several orders")
        if tip_rows.get(order_id, 0) > 1:
            found.doubled.append(f"{out_trade_no}: {tip_rows[order_id]} tip rows")
    seen = {row[0] for row in sandbox}
    found.only_here = [
        no
        for no, row in orders.items()
        if row[3] in PAID_STATES and no not in seen and not (row[4] or "").startswith("DEMO")
    ]
    return found


def _query(database_url: str, sql: str) -> list[tuple]:
    import psycopg

    conninfo = database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo) as conn:
        return conn.execute(sql).fetchall()


def check_bills(database_url: str, env: dict[str, str], procs: Processes, found: Audit) -> None:
    """`flask orders bill --date D` for each Beijing day a payment of the run fell on."""
    span = _query(
        database_url,
        "SELECT min(paid_at), max(paid_at) FROM sandbox_pay_orders WHERE paid_at IS NOT NULL",
    )[0]
    if span[0] is None:
        return
    day, last = (moment.replace(tzinfo=UTC).astimezone(BEIJING).date() for moment in span)
    while day <= last:
        found.bill_days.append(day.isoformat())
        cmd = [sys.executable, "-m", "flask", "orders", "bill", "--date", day.isoformat()]
        proc = procs.start(
            cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        try:
            output, _ = proc.communicate(timeout=SETUP_TIMEOUT)
        finally:
            procs.stop(proc)
        lines = [line for line in output.splitlines() if "\t" in line]
        found.bill_differences += [line for line in lines if not line.endswith("（不是差异）")]
        if proc.returncode not in (0, 1) or (proc.returncode == 1 and not lines):
            found.bill_differences.append(f"{day}: the bill check failed: {output.strip()[-300:]}")
        day += timedelta(days=1)


# --- the run -----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--readers", type=int, default=200, help="simulated readers")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long they keep going")
    parser.add_argument(
        "--think", type=float, default=5.0, help="mean pause between a reader's actions (s)"
    )
    parser.add_argument("--buy", type=float, default=0.07, help="share of actions that buy")
    parser.add_argument("--tip", type=float, default=0.03, help="share of actions that tip")
    parser.add_argument("--seed", type=int, default=16)
    args = parser.parse_args(argv)
    if args.readers < 1 or args.seconds <= 0 or args.think < 0:
        parser.error("--readers must be >= 1, --seconds > 0, --think >= 0")
    if min(args.buy, args.tip) < 0 or args.buy + args.tip > 1:
        parser.error("--buy and --tip are shares of the actions: each >= 0, together <= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))
    procs = Processes()
    started = time.monotonic()
    try:
        with (
            tempfile.TemporaryDirectory(prefix="load-bench-") as tmp,
            postgres_cluster(procs) as (database_url, pg_version),
        ):
            instance = Path(tmp) / "instance"
            log = Path(tmp) / "gunicorn.log"
            env = bench_env(instance, database_url)
            print_header(args, pg_version)
            flask(["db", "upgrade"], env, procs)
            flask(["shop", "demo"], env, procs)
            setup_s = time.monotonic() - started
            print(f"  setup    PostgreSQL cluster, migrated, demo shop in {setup_s:.0f} s")
            with gunicorn(["wsgi:app"], env, procs, log, gunicorn_workers()) as port:
                catalog = asyncio.run(read_catalog(port))
                print(
                    f"  catalog  {len(catalog.for_sale)} items for sale, "
                    f"{len(catalog.searches)} searches"
                )
                deadline = time.monotonic() + args.seconds
                run = Run(port, catalog, deadline, args.think, args.buy, args.tip)
                wall = asyncio.run(run_readers(run, args.readers, args.seed))
                drain_started = time.monotonic()
                waiting = wait_for_notifications(database_url)
                drained_in = time.monotonic() - drain_started
                found = audit(database_url)
                found.undelivered = waiting
                check_bills(database_url, env, procs, found)
            log_text = log.read_text(errors="replace") if log.exists() else ""
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; every process stopped and the folders deleted", file=sys.stderr)
        return 130
    finally:
        procs.stop_all()

    report(args, run, wall, found, drained_in, log_text)
    print(f"(whole run {time.monotonic() - started:.0f} s)")
    return 0


def print_header(args: argparse.Namespace, pg_version: str) -> None:
    print("Load test")
    python = platform.python_version()
    print(f"  machine  {platform.machine()}, {os.cpu_count()} CPUs, Python {python}")
    # Anything else running shares the CPUs with the shop, PostgreSQL and the readers.
    print("  loadavg  {:.2f} {:.2f} {:.2f} before the run".format(*os.getloadavg()))
    versions = ", ".join(f"{name} {metadata.version(name)}" for name in ("gunicorn", "Flask"))
    print(
        f"  server   gunicorn gthread, {worker_count()} workers x {thread_count()} threads, "
        f"{HOST}; {versions}; PostgreSQL {pg_version}"
    )
    print(
        f"  readers  {args.readers} for {args.seconds:.0f} s, asyncio in this process, "
        f"~{args.think:.1f} s between actions, {args.buy:.0%} buying, {args.tip:.0%} tipping"
    )


def report(
    args: argparse.Namespace, run: Run, wall: float, found: Audit, drained_in: float, log: str
) -> None:
    stats = run.stats
    pages = sorted(stats.latencies_ms["page"])
    p50 = percentile(pages, 50) if pages else 0.0
    p99 = percentile(pages, 99) if pages else 0.0
    rps = stats.requests / wall if wall else 0.0
    errors_5xx = sum(stats.server_errors.values())
    print()
    print(f"load     {stats.requests} requests in {wall:.1f} s: {rps:.1f} req/s")
    print(
        f"client   {run.client_cpu_s:.1f} CPU-seconds for the readers' side "
        f"({run.client_cpu_s / wall / (os.cpu_count() or 1):.0%} of the machine's CPU time)"
    )
    print(f"{'kind':<9} {'count':>7} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for label, values in sorted(stats.latencies_ms.items()):
        values = sorted(values)
        print(
            f"{label:<9} {len(values):>7} {percentile(values, 50):>8.1f} "
            f"{percentile(values, 99):>8.1f} {values[-1]:>8.1f}"
        )
    print("slowest routes, by the time readers spent waiting on them:")
    routes = sorted(stats.by_route.items(), key=lambda item: -sum(item[1]))
    for route, values in routes[:8]:
        values = sorted(values)
        print(
            f"  {route:<40} {len(values):>6} x, p50 {percentile(values, 50):>7.1f} ms, "
            f"p99 {percentile(values, 99):>7.1f} ms"
        )
    statuses = ", ".join(f"{status}: {n}" for status, n in sorted(stats.statuses.items()))
    print(f"answers  {statuses}")
    print(f"readers  {run.signed_in}/{args.readers} signed in through the sandbox's WeChat")
    for what, count in stats.server_errors.most_common(10):
        print(f"  5xx    {count} x {what}")
    for what, count in stats.failures.most_common(10):
        print(f"  failed {count} x {what}")
    for what, count in stats.problems.most_common(10):
        print(f"  wrong  {count} x {what}")
    for what, count in run.stuck.most_common(5):
        print(f"  gave up {count} x {what}")
    purchases = [p for p in run.payments if p.kind == "purchase"]
    tips = [p for p in run.payments if p.kind == "tip"]
    waits = sorted(p.seen_paid_after for p in run.payments if p.seen_paid_after is not None)
    print(
        f"payments {len(purchases)} purchases and {len(tips)} tips paid at the sandbox by the "
        f"readers; {len(waits)} shown as paid to them"
        + (
            f" (p50 {percentile(waits, 50):.1f} s, max {waits[-1]:.1f} s after paying)"
            if waits
            else ""
        )
        + f"; {sum(1 for p in purchases if p.access)} purchases opened afterwards"
    )
    # A worker killed for taking longer than gunicorn's timeout drops its requests unanswered.
    print(
        f"log      gunicorn: {log.count('Traceback')} tracebacks, "
        f"{log.count('WORKER TIMEOUT')} worker time-outs"
    )
    print()
    print(
        f"audit    notifications drained in {drained_in:.1f} s ({found.undelivered} still "
        f"waiting), {found.notification_attempts} delivery attempts, "
        f"{found.duplicates_answered} duplicates answered without fulfilling again"
    )
    print(
        f"         the sandbox took money for {found.sandbox_paid} orders ({found.purchases} "
        f"purchases, {found.tips} tips): lost {len(found.lost)}, doubled {len(found.doubled)}, "
        f"paid here only {len(found.only_here)}"
    )
    for line in (found.lost + found.doubled + found.only_here)[:10]:
        print(f"  !      {line}")
    days = ", ".join(found.bill_days) or "none (nothing paid)"
    print(f"bill     `flask orders bill` for {days}: {len(found.bill_differences)} differences")
    for line in found.bill_differences[:10]:
        print(f"  !      {line}")
    print()
    lost = len(found.lost) + found.undelivered
    doubled = len(found.doubled) + len(found.only_here)
    checks = [
        (f"5xx {errors_5xx} (0)", errors_5xx == 0),
        (f"lost {lost} (0)", lost == 0),
        (f"doubled {doubled} (0)", doubled == 0),
        (f"bill differences {len(found.bill_differences)} (0)", not found.bill_differences),
        (f"page p99 {p99:.1f} ms (< {MAX_PAGE_P99_MS:.0f})", p99 < MAX_PAGE_P99_MS),
    ]
    print("targets  " + ", ".join(f"{text}: {'ok' if ok else 'FAIL'}" for text, ok in checks))
    print(f"targets {'met' if all(ok for _, ok in checks) else 'NOT met'}")
    print(
        f"RESULT rps={rps:.1f} p50_ms={p50:.1f} p99_ms={p99:.1f} errors_5xx={errors_5xx} "
        f"lost={lost} doubled={doubled} bill_differences={len(found.bill_differences)}"
    )


if __name__ == "__main__":
    sys.exit(main())
