"""Payment notification benchmark: signed WeChat Pay notifications, with duplicates.

Run from the repository root:

    .venv/bin/python bench/notify.py

It builds a fresh shop in a temporary instance folder (./instance is never touched): the
schema (`flask db upgrade`, or `db.create_all()` when the migrations have no `orders` table
yet), one published paid product, and N pending orders, one per guest reader. Then it signs,
with wechatpy and the API key it gave the app, one payment notification per order (a unique
transaction_id, the order's exact total_fee, and a distinct payer openid, as in
tests/payments/helpers.py) plus duplicates: each of the first N/4 orders is notified three
more times. Half of those orders get their four copies back to back (sent at the same moment
by different connections, as WeChat's servers may), the other half's copies are scattered
through the shuffled stream. The stream is POSTed to /pay/wechat/notify of the shop served by
gunicorn (2 sync workers, no --preload) on 127.0.0.1 from an asyncio client in this process,
and afterwards the database is checked directly: every order paid once, fulfilled once.

Sandbox mode stays on (no FLASK_WECHAT_APPID / APP_SECRET); FLASK_WECHAT_PAY_API_KEY and
FLASK_SECRET_KEY are set for the run, and the effective appid and mch_id are read from
create_app(). Every process it starts is stopped, and the folder deleted, before it exits.

The last line is machine-readable:

    RESULT notify_per_s=... p99_ms=... lost=... doubled=... payments_per_s=...

notify_per_s counts every notification the shop verified and answered SUCCESS, repeats
included (a repeat is checked exactly like the first); payments_per_s counts only the N new
payments. Targets: >= 300 verified notifications/s on SQLite, none lost, none
fulfilled twice. The client half-closes after each request, as a prompt HTTP client may, so
gunicorn's wait for the client's close (RFC 9112 section 9.6) does not count against the shop.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import platform
import random
import secrets
import signal
import sqlite3
import string
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

# The process helpers of the storefront benchmark (bench/ is on sys.path as the script's folder).
from storefront import HOST, WORKERS, BenchError, Processes, gunicorn, percentile, shop_env

REPO = Path(__file__).resolve().parent.parent
NOTIFY_PATH = "/pay/wechat/notify"
PRICE_FEN = 1990
COPIES = 3  # extra deliveries of each duplicated notification
SETUP_TIMEOUT = 180.0
REQUEST_TIMEOUT = 30.0
MIN_NOTIFY_PER_S = 300.0
SUCCESS = b"<return_code><![CDATA[SUCCESS]]></return_code>"
FAIL = b"<return_code><![CDATA[FAIL]]></return_code>"


@dataclass
class Delivery:
    order: int  # index into the order list
    body: bytes
    kind: str  # "first", "burst" (back-to-back copy) or "retry" (scattered copy)


@dataclass
class LoadResult:
    wall_s: float = 0.0
    latencies_us: list[int] = field(default_factory=list)
    success: int = 0
    fail: int = 0
    errors: int = 0  # socket errors, time-outs, non-200, unreadable answers
    not_sent: int = 0  # left over when --max-seconds ran out
    fail_messages: collections.Counter = field(default_factory=collections.Counter)
    error_kinds: collections.Counter = field(default_factory=collections.Counter)


# --- setup (runs in a subprocess: `notify.py --setup FILE`) ------------------------------


def setup_main(out_file: Path, orders_count: int) -> int:
    """Schema if the migrations lack it, a product, N pending orders; facts to `out_file`."""
    sys.path.insert(0, str(REPO))
    from datetime import timedelta

    import sqlalchemy as sa

    from app import create_app
    from app.catalog import queries
    from app.extensions import db
    from app.models import PayChannel, Product, ProductKind
    from app.payments import orders
    from app.readers import identity

    app = create_app()
    with app.app_context():
        missing = _missing_from_database(sa.inspect(db.engine), db.metadata)
        if not missing:
            schema = "flask db upgrade"
        else:
            # The migrations lag behind the models (create_all would add missing tables but
            # not missing columns): build the whole schema from the models instead.
            db.drop_all()
            with db.engine.begin() as conn:
                conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
            db.create_all()
            shown = ", ".join(missing[:4]) + (", ..." if len(missing) > 4 else "")
            schema = f"db.create_all(): `flask db upgrade` lacks {len(missing)} ({shown})"

        product = Product(
            slug="notify-bench",
            kind=ProductKind.ARTICLE,
            title="通知压测专用文章",
            summary="bench/notify.py",
            price_fen=PRICE_FEN,
            body_md="试读部分\n\n<!--more-->\n\n付费部分",
        )
        queries.render_product(product)
        queries.publish(product)
        db.session.add(product)
        db.session.commit()

        placed = []
        for start in range(0, orders_count, 250):
            for _ in range(start, min(start + 250, orders_count)):
                reader = identity.create_guest()
                order = orders.place_order(
                    reader, product, PayChannel.NATIVE, "127.0.0.1", timedelta(hours=2)
                )
                placed.append(order)
            db.session.commit()
        facts = {
            "schema": schema,
            "appid": app.config["WECHAT_APPID"],
            "mch_id": app.config["WECHAT_MCH_ID"],
            "api_key_is_ours": app.config["WECHAT_PAY_API_KEY"]
            == os.environ.get("FLASK_WECHAT_PAY_API_KEY"),
            "sandbox": bool(app.config["WECHAT_SANDBOX"]),
            "database": app.config["SQLALCHEMY_DATABASE_URI"],
            "orders": [[o.out_trade_no, o.amount_fen] for o in placed],
        }
    out_file.write_text(json.dumps(facts))
    return 0


def _missing_from_database(inspector, metadata) -> list[str]:
    """Tables and columns of the models that the migrated database does not have."""
    missing = []
    for table in metadata.sorted_tables:
        if not inspector.has_table(table.name):
            missing.append(table.name)
            continue
        present = {column["name"] for column in inspector.get_columns(table.name)}
        missing += [f"{table.name}.{c.name}" for c in table.columns if c.name not in present]
    return missing


def run_step(cmd: list[str], env: dict[str, str], procs: Processes, what: str) -> str:
    proc = procs.start(
        cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        output, _ = proc.communicate(timeout=SETUP_TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"{what} did not finish in {SETUP_TIMEOUT:.0f}s") from exc
    finally:
        procs.stop(proc)
    if proc.returncode != 0:
        raise BenchError(f"{what} failed:\n{output}")
    return output


def prepare_shop(env: dict[str, str], procs: Processes, tmp: Path, orders_count: int) -> dict:
    run_step([sys.executable, "-m", "flask", "db", "upgrade"], env, procs, "`flask db upgrade`")
    facts_file = tmp / "setup.json"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--setup", str(facts_file)]
    run_step([*cmd, "--orders", str(orders_count)], env, procs, "the setup step")
    facts = json.loads(facts_file.read_text())
    if not facts["api_key_is_ours"]:
        raise BenchError("the app does not use FLASK_WECHAT_PAY_API_KEY; cannot sign for it")
    if not facts["sandbox"]:
        raise BenchError("the app left sandbox mode; the benchmark signs for the sandbox shop")
    if not facts["database"].startswith("sqlite:///"):
        raise BenchError(f"expected SQLite in the instance folder, got {facts['database']}")
    if len(facts["orders"]) != orders_count:
        raise BenchError(f"setup placed {len(facts['orders'])} orders, not {orders_count}")
    return facts


# --- notifications ---------------------------------------------------------------------


def payer_openid(index: int) -> str:
    """A distinct payer per order: 28 characters, like a real openid."""
    return f"oNotifyBenchPayer{index:011d}"


def transaction_id(rng: random.Random) -> str:
    return "4200" + "".join(rng.choice(string.digits) for _ in range(24))


def sign_notification(
    facts: dict, key: str, out_trade_no: str, total_fee: int, payer: str, txn: str
) -> bytes:
    """The fields of tests/payments/helpers.py payment_notification, signed with MD5."""
    from wechatpy.pay.utils import calculate_signature, dict_to_xml

    fields = {
        "appid": facts["appid"],
        "mch_id": facts["mch_id"],
        "nonce_str": secrets.token_hex(16),
        "result_code": "SUCCESS",
        "return_code": "SUCCESS",
        "openid": payer,
        "is_subscribe": "N",
        "trade_type": "NATIVE",
        "bank_type": "OTHERS",
        "total_fee": str(total_fee),
        "cash_fee": str(total_fee),
        "fee_type": "CNY",
        "transaction_id": txn,
        "out_trade_no": out_trade_no,
        "time_end": time.strftime("%Y%m%d%H%M%S", time.gmtime(time.time() + 8 * 3600)),
    }
    return dict_to_xml(fields, calculate_signature(fields, key)).encode("utf-8")


def build_stream(
    facts: dict, key: str, rng: random.Random
) -> tuple[list[Delivery], list[tuple[str, str, str]]]:
    """The shuffled deliveries, and (out_trade_no, transaction_id, payer) for each order.

    The first N/4 orders are delivered 1 + COPIES times. For the even ones of those the copies
    are byte-identical and sent back to back (the client's connections take consecutive
    items, so they arrive together); for the odd ones each copy is re-signed with a fresh
    nonce_str (same transaction_id) and lands somewhere else in the stream, like a retry.
    """
    expected = []
    units: list[list[Delivery]] = []
    duplicated = len(facts["orders"]) // 4
    for index, (out_trade_no, amount) in enumerate(facts["orders"]):
        payer, txn = payer_openid(index), transaction_id(rng)
        expected.append((out_trade_no, txn, payer))

        def body(no=out_trade_no, amount=amount, payer=payer, txn=txn) -> bytes:
            return sign_notification(facts, key, no, amount, payer, txn)

        first = Delivery(index, body(), "first")
        if index >= duplicated:
            units.append([first])
        elif index % 2 == 0:
            units.append([first] + [Delivery(index, first.body, "burst")] * COPIES)
        else:
            units.append([first])
            units.extend([Delivery(index, body(), "retry")] for _ in range(COPIES))
    rng.shuffle(units)
    return [d for unit in units for d in unit], expected


# --- load ------------------------------------------------------------------------------


def run_load(port: int, stream: list[Delivery], concurrency: int, max_seconds: float) -> LoadResult:
    return asyncio.run(_load(port, stream, concurrency, max_seconds))


async def _load(port: int, stream: list[Delivery], concurrency: int, max_seconds: float):
    result = LoadResult()
    pending = iter(stream)
    started = time.perf_counter()
    deadline = started + max_seconds
    await asyncio.gather(
        *(_connection(port, pending, deadline, result) for _ in range(concurrency))
    )
    result.wall_s = time.perf_counter() - started
    result.not_sent += sum(1 for _ in pending)
    return result


async def _connection(port: int, pending, deadline: float, result: LoadResult) -> None:
    """One client connection: takes the next delivery, POSTs it, repeats.

    It keeps the connection when the server allows it; gunicorn's sync workers close it after
    every response, so in practice each request connects anew (the latency includes that).
    """
    reader = writer = None
    for delivery in pending:
        if time.perf_counter() > deadline:
            result.not_sent += 1
            continue
        head = (
            f"POST {NOTIFY_PATH} HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
            f"Content-Type: text/xml\r\nContent-Length: {len(delivery.body)}\r\n"
            "User-Agent: Mozilla/4.0\r\nConnection: close\r\n\r\n"
        ).encode()
        for attempt in (1, 2):
            reused = writer is not None
            start = time.perf_counter()
            try:
                async with asyncio.timeout(REQUEST_TIMEOUT):
                    if writer is None:
                        reader, writer = await asyncio.open_connection(HOST, port)
                    writer.write(head + delivery.body)
                    # gunicorn's sync worker closes every connection and then lingers until
                    # the client closes too (RFC 9112 §9.6); half-closing right after the
                    # request, as a prompt client does, keeps that wait out of the figures.
                    writer.write_eof()
                    status, keep_alive, answer = await _read_response(reader)
            except (OSError, TimeoutError, ValueError, asyncio.IncompleteReadError) as exc:
                _close(writer)
                reader = writer = None
                # A kept-alive connection closed by the server before answering: send again.
                closed_idle = isinstance(exc, asyncio.IncompleteReadError) and not exc.partial
                if reused and attempt == 1 and closed_idle:
                    continue
                result.errors += 1
                result.error_kinds[type(exc).__name__] += 1
                break
            result.latencies_us.append(int((time.perf_counter() - start) * 1_000_000))
            if not keep_alive:
                _close(writer)
                reader = writer = None
            if status != 200:
                result.errors += 1
                result.error_kinds[f"HTTP {status}"] += 1
            elif SUCCESS in answer:
                result.success += 1
            elif FAIL in answer:
                result.fail += 1
                result.fail_messages[_return_msg(answer)] += 1
            else:
                result.errors += 1
                result.error_kinds["unreadable answer"] += 1
            break
    _close(writer)


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head[:-4].split(b"\r\n")
    version, status = status_line.split(None, 2)[:2]
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip().lower()
    keep_alive = version == b"HTTP/1.1" and headers.get(b"connection") != b"close"
    if b"content-length" in headers:
        body = await reader.readexactly(int(headers[b"content-length"]))
    else:  # the shop always sends Content-Length; anything else is read to the end
        body = await reader.read()
        keep_alive = False
    return int(status), keep_alive, body


def _return_msg(answer: bytes) -> str:
    text = answer.decode("utf-8", errors="replace")
    start = text.find("<return_msg><![CDATA[")
    end = text.find("]]></return_msg>")
    return text[start + 21 : end] if 0 <= start < end else text[:80]


def _close(writer: asyncio.StreamWriter | None) -> None:
    if writer is not None:
        writer.close()


# --- verification ----------------------------------------------------------------------


@dataclass
class Verdict:
    paid: int
    lost: int
    doubled: int
    paid_events: int
    multi_paid: int  # orders with more than one 'paid' event
    over_granted: int  # orders with more than 2 entitlements
    short_granted: int  # paid orders without their 2 entitlements
    wrong_payment: int  # paid with another transaction_id or payer than we sent
    duplicate_events: int  # 'payment_duplicate' events: one per duplicate that lost the race
    entitlements: int
    payers: int


def verify(database: Path, expected: list[tuple[str, str, str]]) -> Verdict:
    """Read the outcome straight from the SQLite file (the server is stopped by now)."""
    try:
        return _verify(database, expected)
    except (sqlite3.Error, KeyError) as exc:
        raise BenchError(f"could not verify the database {database}: {exc!r}") from exc


def _verify(database: Path, expected: list[tuple[str, str, str]]) -> Verdict:
    with contextlib.closing(sqlite3.connect(database)) as conn:
        rows = conn.execute(
            "SELECT id, out_trade_no, status, transaction_id, payer_openid FROM orders"
        ).fetchall()
        paid_per_order = dict(
            conn.execute(
                "SELECT order_id, count(*) FROM payment_events WHERE kind = 'paid'"
                " GROUP BY order_id"
            ).fetchall()
        )
        grants_per_order = dict(
            conn.execute(
                "SELECT order_id, count(*) FROM entitlements WHERE order_id IS NOT NULL"
                " GROUP BY order_id"
            ).fetchall()
        )
        duplicate_events = conn.execute(
            "SELECT count(*) FROM payment_events WHERE kind = 'payment_duplicate'"
        ).fetchone()[0]
        entitlements = conn.execute("SELECT count(*) FROM entitlements").fetchone()[0]
        payers = conn.execute(
            "SELECT count(*) FROM readers WHERE openid LIKE 'oNotifyBenchPayer%'"
        ).fetchone()[0]

    by_no = {row[1]: row for row in rows}
    paid = multi = over = short = wrong = 0
    doubled_ids = set()
    for out_trade_no, txn, payer in expected:
        order_id, _, status, got_txn, got_payer = by_no[out_trade_no]
        if status == "paid":
            paid += 1
            if got_txn != txn or got_payer != payer:
                wrong += 1
            if grants_per_order.get(order_id, 0) < 2:
                short += 1
        if paid_per_order.get(order_id, 0) > 1:
            multi += 1
            doubled_ids.add(order_id)
        if grants_per_order.get(order_id, 0) > 2:
            over += 1
            doubled_ids.add(order_id)
    return Verdict(
        paid=paid,
        lost=len(expected) - paid,
        doubled=len(doubled_ids),
        paid_events=sum(paid_per_order.values()),
        multi_paid=multi,
        over_granted=over,
        short_granted=short,
        wrong_payment=wrong,
        duplicate_events=duplicate_events,
        entitlements=entitlements,
        payers=payers,
    )


# --- the run ---------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=2000, help="pending orders to pay (N)")
    parser.add_argument("--concurrency", type=int, default=16, help="client connections")
    parser.add_argument("--seed", type=int, default=3, help="shuffle and transaction ids")
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=150.0,
        help="stop sending after this long (what is left counts as not sent)",
    )
    parser.add_argument("--setup", metavar="FILE", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.orders < 4 or args.concurrency < 1:
        parser.error("--orders must be >= 4 and --concurrency >= 1")
    return args


def bench_env(instance: Path) -> tuple[dict[str, str], str]:
    env = shop_env(instance)
    # Sandbox mode, SQLite in the instance folder: nothing from the caller's shop config.
    for name in ("FLASK_WECHAT_APPID", "FLASK_WECHAT_APP_SECRET", "FLASK_SQLALCHEMY_DATABASE_URI"):
        env.pop(name, None)
    # A pay key is a credential: without the sandbox asked for by name the shop would start live.
    env["FLASK_WECHAT_SANDBOX"] = "true"
    # Letters first, so from_prefixed_env cannot read either as a JSON number.
    key = "k" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(31))
    env["FLASK_WECHAT_PAY_API_KEY"] = key
    env["FLASK_SECRET_KEY"] = "s" + secrets.token_hex(32)
    return env, key


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.setup:
        return setup_main(Path(args.setup), args.orders)

    signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))
    procs = Processes()
    try:
        with tempfile.TemporaryDirectory(prefix="notify-bench-") as tmp:
            instance = Path(tmp) / "instance"
            log = Path(tmp) / "gunicorn.log"
            env, key = bench_env(instance)
            print_header(args)

            started = time.perf_counter()
            facts = prepare_shop(env, procs, Path(tmp), args.orders)
            stream, expected = build_stream(facts, key, random.Random(args.seed))
            kinds = collections.Counter(d.kind for d in stream)
            print(f"  schema   {facts['schema']}")
            print(
                f"  setup    {args.orders} pending orders, {len(stream)} signed deliveries "
                f"({kinds['burst']} back-to-back copies, {kinds['retry']} scattered) "
                f"in {time.perf_counter() - started:.1f}s"
            )
            print(f"  appid    {facts['appid']}, mch_id {facts['mch_id']} (sandbox mode)")

            with gunicorn(["wsgi:app"], env, procs, log) as port:
                load = run_load(port, stream, args.concurrency, args.max_seconds)
            database = Path(facts["database"].removeprefix("sqlite:///"))
            verdict = verify(database, expected)
            log_tail = _app_log_summary(log)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; every process stopped and the folder deleted", file=sys.stderr)
        return 130
    finally:
        procs.stop_all()

    report(args, load, verdict, len(stream), len(stream) - args.orders, log_tail)
    return 0


def _app_log_summary(log: Path) -> str:
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    tracebacks = sum(1 for line in lines if line.startswith("Traceback"))
    return f"{len(lines)} log lines from gunicorn, {tracebacks} tracebacks" if lines else ""


def print_header(args: argparse.Namespace) -> None:
    print("Payment notification benchmark")
    python = platform.python_version()
    print(f"  machine  {platform.machine()}, {os.cpu_count()} CPUs, Python {python}")
    # Anything else running shares the CPUs with gunicorn and the client: numbers will be low.
    print("  loadavg  {:.2f} {:.2f} {:.2f} before the run".format(*os.getloadavg()))
    versions = ", ".join(
        f"{name} {metadata.version(name)}" for name in ("gunicorn", "Flask", "wechatpy")
    )
    print(f"  server   gunicorn, {WORKERS} sync workers, no --preload, {HOST}; {versions}")
    print(f"  database SQLite {sqlite3.sqlite_version} (WAL) in a temporary instance folder")
    print(
        f"  client   asyncio in this process, {args.concurrency} connections, "
        f"POST {NOTIFY_PATH}; {args.orders} orders, each of the first {args.orders // 4} "
        f"notified {1 + COPIES} times"
    )


def report(
    args: argparse.Namespace,
    load: LoadResult,
    verdict: Verdict,
    requests: int,
    duplicates: int,
    log_summary: str,
) -> None:
    n = args.orders
    latencies = sorted(load.latencies_us)
    p50 = percentile(latencies, 50) / 1000 if latencies else 0.0
    p99 = percentile(latencies, 99) / 1000 if latencies else 0.0
    wall = load.wall_s or float("inf")
    # Every notification answered SUCCESS passed the signature, merchant and amount checks:
    # repeats are verified notifications too. New payments per second are shown beside it.
    notify_per_s = load.success / wall
    payments_per_s = verdict.paid / wall
    print()
    print(f"wall     {load.wall_s:.2f} s for {requests} requests ({duplicates} duplicates)")
    print(
        f"rate     {notify_per_s:.1f} verified notifications/s "
        f"({payments_per_s:.1f} new payments/s, {requests / wall:.1f} requests/s)"
    )
    slowest = latencies[-1] / 1000 if latencies else 0.0
    print(f"latency  p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {slowest:.2f} ms")
    print(
        f"answers  SUCCESS {load.success}, FAIL {load.fail}, errors {load.errors}, "
        f"not sent {load.not_sent}"
    )
    for message, count in load.fail_messages.most_common(5):
        print(f"  FAIL   {count} x {message}")
    for kind, count in load.error_kinds.most_common(5):
        print(f"  error  {count} x {kind}")
    print(
        f"database {verdict.paid}/{n} orders paid, {verdict.paid_events} 'paid' events, "
        f"{verdict.duplicate_events} 'payment_duplicate' events (duplicates sent: {duplicates}), "
        f"{verdict.entitlements} entitlements (expected {2 * n}), "
        f"{verdict.payers} payer readers (expected {n})"
    )
    print(
        f"checks   lost {verdict.lost}, orders paid more than once {verdict.multi_paid}, "
        f"with > 2 entitlements {verdict.over_granted}, paid without both entitlements "
        f"{verdict.short_granted}, paid with another transaction or payer "
        f"{verdict.wrong_payment}"
    )
    if log_summary:
        print(f"log      {log_summary}")
    print()
    rate_ok = notify_per_s >= MIN_NOTIFY_PER_S
    clean = (
        verdict.lost == 0
        and verdict.doubled == 0
        and verdict.short_granted == 0
        and verdict.wrong_payment == 0
    )
    print(
        f"targets  {notify_per_s:.1f} notifications/s (>= {MIN_NOTIFY_PER_S:.0f}: "
        f"{_yes(rate_ok)}), lost {verdict.lost} and doubled {verdict.doubled} "
        f"(0 and 0: {_yes(verdict.lost == 0 and verdict.doubled == 0)})"
    )
    print(f"targets {'met' if rate_ok and clean else 'NOT met'}")
    print(
        f"RESULT notify_per_s={notify_per_s:.1f} p99_ms={p99:.2f} "
        f"lost={verdict.lost} doubled={verdict.doubled} payments_per_s={payments_per_s:.1f}"
    )


def _yes(flag: bool) -> str:
    return "ok" if flag else "FAIL"


if __name__ == "__main__":
    sys.exit(main())
