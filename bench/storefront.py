"""Storefront benchmark: the shop's pages against hello-world, and the home page's weight.

Run from the repository root:

    .venv/bin/python bench/storefront.py

It builds a fresh demo shop in a temporary instance folder (./instance is never touched),
serves it with gunicorn (2 sync workers, no --preload) on 127.0.0.1, and loads, from a second
process, each of these targets in turn:

- home, product: the home page and a published paid product page as an anonymous visitor (no
  cookie, a desktop browser's User-Agent), which the shop serves from its page cache;
- reader_home, reader_product, reader_lesson, reader_library, reader_me: the home page, a
  course the reader owns, a paid lesson of it, 已购 and 我的, as a signed-in WeChat reader.
  The reader is made inside the app (the hidden --setup-reader step): a sandbox WeChat user
  and the reader bound to its openid, who owns three items and has reading progress in the
  course, with a real server-side session (begin_session) whose cookie is signed by the app's
  own session interface. Requests carry
  that cookie, WeChat's User-Agent and `Accept-Encoding: gzip, br`. Each page is checked to
  answer 200 and to be the signed-in one (已购, 继续学习, the lesson open, the library's items,
  the reader's name) before it is loaded;

then it serves bench/hello_app.py with the same gunicorn settings and loads that. The load comes
from wrk when it is on the PATH, otherwise from a small asyncio load generator in separate
processes (this script started with --worker); both send each target's headers.

Before the load it weighs the home page as a phone in WeChat downloads it (390 px wide, 3x;
see measure_page_weight): a first visit without any cookie of the shop's (the silent WeChat
sign-in's redirects, the page, every stylesheet, script, icon and image it and its stylesheets
name), then the next visit (the page again, and what the first visit's Cache-Control does not
let the phone reuse without asking; a 304 costs nothing). Bodies as transferred, in kB of
1000 bytes; a table of every request is printed. Every process it starts is stopped before
it exits.

The last line is machine-readable:

    RESULT home_rps=... product_rps=... hello_rps=... home_ratio=... product_ratio=...
    home_p99_ms=... product_p99_ms=... reader_home_ratio=... reader_product_ratio=...
    reader_lesson_ratio=... reader_library_ratio=... reader_me_ratio=...
    reader_home_p99_ms=... reader_product_p99_ms=... reader_lesson_p99_ms=...
    reader_library_p99_ms=... reader_me_p99_ms=... errors=... home_first_visit_kb=...
    home_repeat_visit_kb=...

(on one line). A ratio is the target's req/s over hello-world's in the same run; errors are
non-2xx answers plus socket errors over all targets, hello-world included. Targets at 32
connections: anonymous pages >= 0.4 of hello-world req/s, the reader's >= 0.5, every p99 <
50 ms, no errors; the home page < 150 kB on a first visit and < 20 kB on the next.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import http.client
import json
import math
import os
import platform
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)
ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
ANONYMOUS_HEADERS = (("User-Agent", USER_AGENT), ("Accept", ACCEPT))
# A phone inside WeChat: WeChat's browser on an iPhone (a 390 px wide, 3x screen).
WECHAT_USER_AGENT = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.50(0x1800323a) NetType/WIFI "
    "Language/zh_CN"
)
PHONE_ACCEPT_ENCODING = "gzip, br"
PREFERRED_PRODUCT = "first-1000-readers"
PREFERRED_COURSE = "product-thinking-101"
READER_NICKNAME = "压测读者"
PHONE_NICKNAME = "首次访问的手机"
# What only the signed-in reader's page shows (the templates' markup): checked before loading.
READER_MARKERS = {
    "reader_home": ('class="price price-owned"',),  # an owned item's 已购 badge
    "reader_product": ('class="price price-owned"', "继续学习"),  # 已购, and where they stopped
    "reader_lesson": ('class="is-open is-current"',),  # the lesson itself, readable
    "reader_library": ('class="library-item"',),  # what they own, listed
    "reader_me": (READER_NICKNAME, 'href="/auth/logout"'),  # their name, and 退出登录
}
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))  # 2, as on a small server; 1 shows scaling
MIN_RATIO = 0.4  # anonymous pages
MIN_READER_RATIO = 0.5  # the signed-in reader's pages
MAX_P99_MS = 50.0
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0


class BenchError(Exception):
    """Something the benchmark cannot carry on from; reported without a traceback."""


@dataclass
class Measurement:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # socket errors and timeouts
    non_2xx: int  # wrk: answers >= 400 (it says "Non-2xx or 3xx"); ours: any answer outside 2xx


@dataclass(frozen=True)
class Target:
    """A page to load, and the headers every request for it carries."""

    name: str
    path: str
    headers: tuple[tuple[str, str], ...] = ANONYMOUS_HEADERS


@dataclass(frozen=True)
class SignedInReader:
    """What the --setup-reader step made in the bench's shop (see setup_reader_main)."""

    cookie_name: str
    cookie: str  # the session cookie's value, signed by the app's own session interface
    course: str  # slug of a course the reader owns
    lesson: int  # position of a paid lesson of it, where the reader's progress is
    owns: list[str]
    phone_cookie: tuple[str, str]  # the sandbox's "who holds this phone" cookie (page weight)

    def headers(self, cookie: str | None = None) -> tuple[tuple[str, str], ...]:
        return (
            ("User-Agent", WECHAT_USER_AGENT),
            ("Accept", ACCEPT),
            ("Accept-Encoding", PHONE_ACCEPT_ENCODING),
            ("Cookie", f"{self.cookie_name}={cookie or self.cookie}"),
        )

    def targets(self, cookie: str | None = None) -> list[Target]:
        headers = self.headers(cookie)
        return [
            Target("reader_home", "/", headers),
            Target("reader_product", f"/p/{self.course}", headers),
            Target("reader_lesson", f"/p/{self.course}/s/{self.lesson}", headers),
            Target("reader_library", "/library", headers),
            Target("reader_me", "/me", headers),
        ]


# --- processes -------------------------------------------------------------------------


class Processes:
    """Every child we start runs in its own process group, and is stopped from here."""

    def __init__(self) -> None:
        self._running: list[subprocess.Popen] = []

    def start(self, cmd: list[str], **kwargs) -> subprocess.Popen:
        proc = subprocess.Popen(cmd, start_new_session=True, **kwargs)
        self._running.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen) -> None:
        if proc.returncode is None:
            if not _exited(proc):
                _signal_group(proc, signal.SIGTERM)
                deadline = time.monotonic() + STOP_TIMEOUT
                while not _exited(proc) and time.monotonic() < deadline:
                    time.sleep(0.05)
            # The leader is not reaped yet, so its group id is still ours: whatever is left of
            # the group (gunicorn workers, say) goes too.
            _signal_group(proc, signal.SIGKILL)
            proc.wait()
        if proc in self._running:
            self._running.remove(proc)

    def stop_all(self) -> None:
        for proc in reversed(list(self._running)):
            self.stop(proc)


def _exited(proc: subprocess.Popen) -> bool:
    """Whether the child has exited, without reaping it (its pid stays reserved)."""
    if proc.returncode is not None:
        return True
    try:
        return os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    # start_new_session made the child a group leader: its pgid is its pid.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def _raise_on_sigterm(signum, _frame) -> None:
    raise SystemExit(128 + signum)


# --- the shop under test ------------------------------------------------------------------


def shop_env(instance: Path) -> dict[str, str]:
    env = dict(os.environ)  # FLASK_PAGE_CACHE_SIZE and friends pass through unchanged
    env["SHOP_INSTANCE_PATH"] = str(instance)
    env["FLASK_APP"] = "wsgi.py"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def prepare_demo(env: dict[str, str], procs: Processes) -> None:
    for step in (["db", "upgrade"], ["shop", "demo"]):
        cmd = [sys.executable, "-m", "flask", *step]
        proc = procs.start(
            cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        try:
            output, _ = proc.communicate(timeout=120)
        finally:
            procs.stop(proc)
        if proc.returncode != 0:
            raise BenchError(f"`flask {' '.join(step)}` failed:\n{output}")


def pick_product_slug(database: Path) -> str:
    """A published paid product from the demo, preferring PREFERRED_PRODUCT."""
    if not database.exists():
        return PREFERRED_PRODUCT
    with contextlib.closing(sqlite3.connect(database)) as conn:
        slugs = [
            row[0]
            for row in conn.execute(
                "SELECT slug FROM products WHERE lower(status) = 'published' AND price_fen > 0"
                " ORDER BY featured DESC, id"
            )
        ]
    if not slugs:
        raise BenchError("the demo shop has no published paid product")
    return PREFERRED_PRODUCT if PREFERRED_PRODUCT in slugs else slugs[0]


def sign_in_reader(env: dict[str, str], procs: Processes) -> SignedInReader:
    """Run --setup-reader in the bench instance's environment (a process of its own, so this
    one never imports the app) and read what it made."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--setup-reader"]
    proc = procs.start(
        cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        output, errors = proc.communicate(timeout=120)
    finally:
        procs.stop(proc)
    if proc.returncode != 0:
        raise BenchError(f"setting up the signed-in reader failed:\n{errors}{output}")
    made = json.loads(output.strip().splitlines()[-1])
    made["phone_cookie"] = tuple(made["phone_cookie"])
    return SignedInReader(**made)


def setup_reader_main() -> int:
    """Hidden step, run with the bench instance's environment: a signed-in WeChat reader.

    In the sandbox's WeChat, a user; in the shop, the reader bound to its openid (not a
    guest), given a published paid course and two other paid items (direct grants, as the
    creator's gifts), with reading progress at the course's first paid lesson. Then a real
    server-side session for that reader (app.accounts.session.begin_session, which starts a
    web_sessions row) marked as WeChat's sign-in marks it (asked once), and the cookie a
    browser would hold for it, signed by the app's own session interface. Also a second
    sandbox user, not yet a reader: the phone whose first visit the page-weight figures
    follow. Prints one JSON line (SignedInReader's fields).
    """
    sys.path.insert(0, str(REPO))
    import sqlalchemy as sa
    from flask import session

    from app import create_app
    from app.accounts.session import OAUTH_TRIED_KEY, begin_session
    from app.catalog import entitlements
    from app.extensions import db
    from app.models import (
        EntitlementSource,
        Product,
        ProductKind,
        ProductStatus,
        Reader,
        ReadingProgress,
    )
    from app.sandbox import oauth as sandbox_oauth
    from app.sandbox.views import CURRENT_USER_COOKIE

    app = create_app()
    with app.app_context():
        for_sale = db.session.scalars(
            sa.select(Product)
            .where(Product.status == ProductStatus.PUBLISHED, Product.price_fen > 0)
            .order_by(Product.featured.desc(), Product.id)
        ).all()
        courses = [
            p
            for p in for_sale
            if p.kind == ProductKind.COURSE and any(not s.is_free for s in p.sections)
        ]
        if not courses:
            print("the demo shop has no published paid course with a paid lesson", file=sys.stderr)
            return 1
        course = next((p for p in courses if p.slug == PREFERRED_COURSE), courses[0])
        lesson = next(s for s in course.sections if not s.is_free)
        others = sorted(
            (p for p in for_sale if p is not course), key=lambda p: p.slug != PREFERRED_PRODUCT
        )[:2]

        user = sandbox_oauth.create_user(READER_NICKNAME)
        reader = Reader(openid=user.openid, nickname=user.nickname)
        db.session.add(reader)
        db.session.flush()
        for product in (course, *others):
            entitlements.grant(reader, product, EntitlementSource.GIFT)
        db.session.add(
            ReadingProgress(reader_id=reader.id, product_id=course.id, section_id=lesson.id)
        )
        phone = sandbox_oauth.create_user(PHONE_NICKNAME)
        db.session.commit()

        with app.test_request_context("/"):
            begin_session(reader)
            db.session.commit()
            # As the WeChat sign-in's callback leaves it: WeChat has been asked once.
            session[OAUTH_TRIED_KEY] = True
            cookie = app.session_interface.get_signing_serializer(app).dumps(dict(session))
        made = {
            "cookie_name": app.config["SESSION_COOKIE_NAME"],
            "cookie": cookie,
            "course": course.slug,
            "lesson": lesson.position,
            "owns": [p.slug for p in (course, *others)],
            "phone_cookie": [CURRENT_USER_COOKIE, phone.openid],
        }
    print(json.dumps(made))
    return 0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def gunicorn(
    app_args: list[str],
    env: dict[str, str],
    procs: Processes,
    log: Path,
    workers: list[str] | None = None,
) -> Iterator[int]:
    """Serve an app with the benchmark's gunicorn settings; yields the port once it answers.

    `workers`: gunicorn's worker options instead of the benchmarks' WORKERS sync workers."""
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "gunicorn",
        *(workers or ["--workers", str(WORKERS), "--worker-class", "sync"]),
        "--bind",
        f"{HOST}:{port}",
        "--log-level",
        "warning",
        *app_args,
    ]
    with log.open("ab") as log_file:
        proc = procs.start(cmd, cwd=REPO, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    try:
        wait_until_answering(proc, port, log)
        yield port
    finally:
        procs.stop(proc)


def wait_until_answering(proc: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if _exited(proc):
            raise BenchError(f"gunicorn exited before answering:\n{_tail(log)}")
        conn = http.client.HTTPConnection(HOST, port, timeout=5)
        try:
            conn.request("GET", "/", headers={"User-Agent": USER_AGENT})
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.1)
        finally:
            conn.close()
    raise BenchError(f"gunicorn did not answer on port {port} in {READY_TIMEOUT:.0f}s")


def _tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def http_get(
    port: int, path: str, headers: tuple[tuple[str, str], ...]
) -> tuple[http.client.HTTPResponse, bytes]:
    """One GET on a connection of its own; the body as sent (chunks joined, not decoded)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        conn.request("GET", path, headers=dict(headers))
        response = conn.getresponse()
        return response, response.read()
    except OSError as exc:
        raise BenchError(f"GET http://{HOST}:{port}{path} failed: {exc}") from exc
    finally:
        conn.close()


def check_ok(port: int, path: str) -> int:
    """The page answers 200 to an anonymous desktop visitor; returns its size in bytes."""
    response, body = http_get(port, path, ANONYMOUS_HEADERS)
    if response.status != 200:
        raise BenchError(f"GET http://{HOST}:{port}{path} answered {response.status}, expected 200")
    if response.getheader("Set-Cookie"):
        print(f"  note: {path} sets a cookie for an anonymous visitor (the load sends none)")
    return len(body)


def decode_body(body: bytes, content_encoding: str | None) -> bytes | None:
    """The body as the page's author wrote it; None for an encoding this Python cannot undo
    (br without the brotli module, say)."""
    encoding = (content_encoding or "identity").strip().lower()
    if encoding == "identity":
        return body
    if encoding in ("gzip", "x-gzip"):
        return gzip.decompress(body)
    if encoding == "deflate":  # zlib-wrapped as the RFC says, or raw as some servers send it
        try:
            return zlib.decompress(body)
        except zlib.error:
            return zlib.decompress(body, -zlib.MAX_WBITS)
    if encoding == "br":
        try:
            import brotli  # not a dependency of the shop; used when it happens to be there
        except ImportError:
            return None
        return brotli.decompress(body)
    return None


def readable_text(port: int, path: str, headers, response, body: bytes) -> str:
    """The page's text, decoding what the server compressed, or asking again without
    compression when it used an encoding we cannot undo."""
    decoded = decode_body(body, response.getheader("Content-Encoding"))
    if decoded is None:
        plain = tuple((k, v) for k, v in headers if k.lower() != "accept-encoding")
        _, decoded = http_get(port, path, (*plain, ("Accept-Encoding", "identity")))
    return decoded.decode("utf-8", errors="replace")


def cookie_updates(set_cookie_headers: list[str]) -> dict[str, str | None]:
    """What Set-Cookie headers do to a browser's cookies: name -> new value, None = deleted."""
    updates: dict[str, str | None] = {}
    for header in set_cookie_headers:
        pair, _, attributes = header.partition(";")
        name, _, value = pair.strip().partition("=")
        if not name:
            continue
        deleted = not value.strip('"') or re.search(r"max-age\s*=\s*(0|-\d+)\b", attributes, re.I)
        updates[name.strip()] = None if deleted else value
    return updates


def signed_in_targets(port: int, reader: SignedInReader) -> list[Target]:
    """The reader's pages, checked: each answers 200 to the reader's cookie and is the signed-in
    page (READER_MARKERS). First the cookie is settled as a browser's would be: if a page
    changes the session (it may add to it on a first visit), the browser keeps the new cookie,
    and so does the load."""
    cookie = reader.cookie
    refreshed = False
    for _ in range(2):
        for target in reader.targets(cookie):
            response, _ = http_get(port, target.path, target.headers)
            new = cookie_updates(response.msg.get_all("Set-Cookie") or [])
            if reader.cookie_name in new:
                if new[reader.cookie_name] is None:
                    raise BenchError(f"GET {target.path} signed the reader out (cookie deleted)")
                refreshed = refreshed or new[reader.cookie_name] != cookie
                cookie = new[reader.cookie_name]
    if refreshed:
        print("  note: the shop re-sent the reader's session cookie; the load sends the last one")
    targets = reader.targets(cookie)
    for target in targets:
        response, body = http_get(port, target.path, target.headers)
        url = f"http://{HOST}:{port}{target.path}"
        if response.status != 200:
            raise BenchError(f"GET {url} as the reader answered {response.status}, expected 200")
        text = readable_text(port, target.path, target.headers, response, body)
        missing = [m for m in READER_MARKERS[target.name] if m not in text]
        if missing:
            raise BenchError(f"GET {url} is not the signed-in reader's page: no {missing}")
        encoding = response.getheader("Content-Encoding") or "identity"
        print(
            f"  {target.name:<14} GET {target.path} -> 200, {len(body)} bytes ({encoding}), "
            "signed in"
        )
    return targets


# --- load: wrk ------------------------------------------------------------------------


_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def run_wrk(
    wrk: str,
    url: str,
    headers: tuple[tuple[str, str], ...],
    seconds: int,
    connections: int,
    threads: int,
    procs: Processes,
) -> Measurement:
    cmd = [wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for name, value in headers:
        cmd += ["-H", f"{name}: {value}"]
    cmd.append(url)
    output = _run_to_end(cmd, seconds, procs)
    return parse_wrk(output)


def parse_wrk(output: str) -> Measurement:
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M)
    total = re.search(r"^\s*(\d+) requests in", output, re.M)
    percentiles = {
        float(m[1]): float(m[2]) * _UNIT_MS[m[3]]
        for m in re.finditer(r"^\s+([\d.]+)%\s+([\d.]+)(us|ms|s|m|h)\s*$", output, re.M)
    }
    if not rps or not total or 50.0 not in percentiles or 99.0 not in percentiles:
        raise BenchError(f"could not read wrk's output:\n{output}")
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    return Measurement(
        rps=float(rps[1]),
        p50_ms=percentiles[50.0],
        p99_ms=percentiles[99.0],
        requests=int(total[1]),
        errors=sum(int(n) for n in socket_errors.groups()) if socket_errors else 0,
        non_2xx=int(non_2xx[1]) if non_2xx else 0,
    )


def _run_to_end(cmd: list[str], seconds: float, procs: Processes) -> str:
    proc = procs.start(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output, _ = proc.communicate(timeout=seconds + 60)
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"{cmd[0]} did not finish in time") from exc
    finally:
        procs.stop(proc)
    if proc.returncode != 0:
        raise BenchError(f"{' '.join(cmd)} exited with {proc.returncode}:\n{output}")
    return output


# --- load: the Python fallback ----------------------------------------------------------


def run_python_load(
    url: str,
    headers: tuple[tuple[str, str], ...],
    seconds: int,
    connections: int,
    processes: int,
    procs: Processes,
) -> Measurement:
    """Like wrk: `processes` OS processes (no shared GIL), the connections spread over them."""
    processes = max(1, min(processes, connections))
    shares = [connections // processes + (i < connections % processes) for i in range(processes)]
    workers = []
    for share in shares:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", url]
        cmd += ["--connections", str(share), "--duration", str(seconds)]
        for name, value in headers:
            cmd += ["--header", f"{name}: {value}"]
        workers.append(procs.start(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    reports = []
    try:
        for proc in workers:
            out, err = proc.communicate(timeout=seconds + 60)
            if proc.returncode != 0:
                raise BenchError(f"load generator failed:\n{err.decode(errors='replace')}")
            reports.append(json.loads(out))
    except subprocess.TimeoutExpired as exc:
        raise BenchError("load generator did not finish in time") from exc
    finally:
        for proc in workers:
            procs.stop(proc)
    latencies = sorted(x for report in reports for x in report["latencies_us"])
    if not latencies:
        raise BenchError(f"no request to {url} completed")
    elapsed = max(report["elapsed"] for report in reports)
    return Measurement(
        rps=len(latencies) / elapsed,
        p50_ms=percentile(latencies, 50) / 1000,
        p99_ms=percentile(latencies, 99) / 1000,
        requests=len(latencies),
        errors=sum(report["errors"] for report in reports),
        non_2xx=sum(report["non_2xx"] for report in reports),
    )


def percentile(ordered: list[float], pct: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def worker_main(url: str, headers: list[str], connections: int, seconds: float) -> int:
    """One load-generator process: asyncio, one coroutine per connection, JSON to stdout.

    headers are "Name: value" lines, sent with every request (the target's visitor)."""
    match = re.fullmatch(r"http://([^/:]+):(\d+)(/.*)?", url)
    if not match:
        print(f"unsupported URL {url}", file=sys.stderr)
        return 2
    host, port, path = match[1], int(match[2]), match[3] or "/"
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", *headers, "Connection: keep-alive"]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    report = asyncio.run(_generate_load(host, port, request, connections, seconds))
    json.dump(report, sys.stdout)
    return 0


async def _generate_load(
    host: str, port: int, request: bytes, connections: int, seconds: float
) -> dict:
    latencies: list[int] = []
    counts = {"errors": 0, "non_2xx": 0}
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(
        *(
            _connection_loop(host, port, request, deadline, latencies, counts)
            for _ in range(connections)
        )
    )
    return {"elapsed": time.perf_counter() - started, "latencies_us": latencies, **counts}


async def _connection_loop(
    host: str, port: int, request: bytes, deadline: float, latencies: list[int], counts: dict
) -> None:
    reader = writer = None
    reused = False
    while time.perf_counter() < deadline:
        try:
            async with asyncio.timeout(10):
                if writer is None:
                    reader, writer = await asyncio.open_connection(host, port)
                    reused = False
                start = time.perf_counter()
                writer.write(request)
                status, keep_alive = await _read_response(reader)
        except (OSError, TimeoutError, ValueError, asyncio.IncompleteReadError) as exc:
            # A kept-alive connection the server has just closed is not an error; retry.
            closed_idle = reused and isinstance(exc, asyncio.IncompleteReadError)
            if not (closed_idle and not exc.partial):
                counts["errors"] += 1
                await asyncio.sleep(0.001)
            _close(writer)
            writer = None
            continue
        latencies.append(int((time.perf_counter() - start) * 1_000_000))
        if not 200 <= status < 300:
            counts["non_2xx"] += 1
        if keep_alive:
            reused = True
        else:
            _close(writer)
            writer = None
    _close(writer)


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head[:-4].split(b"\r\n")
    version, status = status_line.split(None, 2)[:2]
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip().lower()
    keep_alive = version == b"HTTP/1.1" and headers.get(b"connection") != b"close"
    if b"content-length" in headers:
        await reader.readexactly(int(headers[b"content-length"]))
    elif headers.get(b"transfer-encoding") == b"chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                while await reader.readuntil(b"\r\n") != b"\r\n":
                    pass
                break
            await reader.readexactly(size + 2)
    else:
        await reader.read()
        keep_alive = False
    return int(status), keep_alive


def _close(writer: asyncio.StreamWriter | None) -> None:
    if writer is not None:
        writer.close()


# --- page weight --------------------------------------------------------------------------

# The phone: WeChat's browser on an iPhone 12 to 15, 390 CSS px wide at 3 device px per px.
PHONE_WIDTH_PX = 390
PHONE_DPR = 3.0
KB = 1000  # as browsers' developer tools count
MAX_FIRST_VISIT_KB = 150
MAX_REPEAT_VISIT_KB = 20
# What WeChat's browser on iOS (WKWebView: Safari's engine) accepts, per kind of request.
PHONE_ACCEPT = {
    "page": ACCEPT,
    "stylesheet": "text/css,*/*;q=0.1",
    "image": "image/webp,image/avif,image/jxl,image/heic,image/heic-sequence,video/*;q=0.8,"
    "image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5",
}
PHONE_IMAGE_TYPES = {"image/avif", "image/webp", "image/png", "image/jpeg", "image/gif"}
PHONE_IMAGE_TYPES |= {"image/svg+xml"}
FONT_SUFFIXES = (".woff2", ".woff", ".ttf", ".otf", ".eot")
REDIRECTS = (301, 302, 303, 307, 308)


@dataclass(frozen=True)
class Subresource:
    kind: str  # stylesheet, script, image, icon, font, preload
    url: str  # absolute
    lazy: bool = False  # <img loading="lazy">: fetched once scrolled near


def parse_subresources(html: str, base_url: str) -> list[Subresource]:
    """What a browser fetches to show this page (not the pages it links to), in document
    order, each URL once: stylesheets, scripts, the icon, preloads, images (from <picture>
    sources and srcset, the candidate a 390 px wide 3x phone picks: see pick_image) and url()
    references in style attributes and <style> elements. data: URLs cost nothing extra."""
    parser = _SubresourceParser()
    parser.feed(html)
    parser.close()
    base = urljoin(base_url, parser.base_href) if parser.base_href else base_url
    found: dict[str, Subresource] = {}
    for kind, raw, lazy in parser.found:
        url = urljoin(base, raw.strip()).partition("#")[0]
        if urlsplit(url).scheme not in ("http", "https"):
            continue
        earlier = found.get(url)
        if earlier is None:
            found[url] = Subresource(kind, url, lazy)
        elif earlier.lazy and not lazy:  # also wanted at once somewhere
            found[url] = Subresource(earlier.kind, url, False)
    return list(found.values())


class _SubresourceParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, str, bool]] = []
        self.base_href: str | None = None
        self._sources: list[dict[str, str]] | None = None  # inside <picture>
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {name: value or "" for name, value in attrs}
        for kind, url in css_references(a.get("style", "")):
            self.found.append((kind, url, False))
        if tag == "base" and a.get("href") and self.base_href is None:
            self.base_href = a["href"]
        elif tag == "link" and a.get("href"):
            self._link(a)
        elif tag == "script" and a.get("src"):
            self.found.append(("script", a["src"], False))
        elif tag == "picture":
            self._sources = []
        elif tag == "source" and self._sources is not None:
            self._sources.append(a)
        elif tag == "img":
            url = pick_image(a, self._sources or [])
            if url:
                self.found.append(("image", url, a.get("loading", "").lower() == "lazy"))
        elif tag == "video" and a.get("poster"):
            self.found.append(("image", a["poster"], False))
        elif tag == "style":
            self._in_style = True

    def _link(self, a: dict[str, str]) -> None:
        rels = set(a.get("rel", "").lower().split())
        if "stylesheet" in rels:
            self.found.append(("stylesheet", a["href"], False))
        elif "icon" in rels:  # "icon", "shortcut icon"; not apple-touch-icon (home screen only)
            self.found.append(("icon", a["href"], False))
        elif "modulepreload" in rels:
            self.found.append(("script", a["href"], False))
        elif "preload" in rels:
            kind = {"style": "stylesheet", "script": "script", "image": "image", "font": "font"}
            url = a["href"]
            if a.get("imagesrcset"):  # a responsive image's preload: the phone's candidate
                url = pick_from_srcset(a["imagesrcset"], a.get("imagesizes"), url) or url
            self.found.append((kind.get(a.get("as", "").lower(), "preload"), url, False))

    def handle_endtag(self, tag: str) -> None:
        if tag == "picture":
            self._sources = None
        elif tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.found.extend((kind, url, False) for kind, url in css_references(data))


_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.S)
_CSS_IMPORT = re.compile(r"""@import\s+(?:url\(\s*)?(["']?)([^"')\s;]+)\1""", re.I)
_CSS_URL = re.compile(r"""url\(\s*(["']?)(.*?)\1\s*\)""", re.I | re.S)


def css_references(css: str) -> list[tuple[str, str]]:
    """(kind, URL as written) of what a stylesheet (or a style attribute) refers to: @import
    is a stylesheet, a url() of a font file a font, any other url() an image. Every
    reference counts, whether or not a rule of it applies to the page: an upper bound."""
    css = _CSS_COMMENT.sub("", css)
    found = [("stylesheet", m[2]) for m in _CSS_IMPORT.finditer(css)]
    for match in _CSS_URL.finditer(_CSS_IMPORT.sub("", css)):
        url = match[2].strip()
        if not url or url.startswith(("data:", "#")):
            continue
        path = urlsplit(url).path.lower()
        found.append(("font" if path.endswith(FONT_SUFFIXES) else "image", url))
    return found


def pick_image(img: Mapping[str, str], sources: list[Mapping[str, str]] = ()) -> str | None:
    """The URL the phone loads for an <img> (inside a <picture> with these <source>s): the
    first source whose type it decodes and whose media query matches, else the img's own
    srcset and src; from a srcset, the candidate pick_from_srcset chooses."""
    for source in sources:
        kind = source.get("type", "").split(";")[0].strip().lower()
        if kind and kind not in PHONE_IMAGE_TYPES:
            continue
        if source.get("media") and not media_matches(source["media"]):
            continue
        url = pick_from_srcset(source.get("srcset", ""), source.get("sizes"), None)
        if url:
            return url
    return pick_from_srcset(img.get("srcset", ""), img.get("sizes"), img.get("src") or None)


def pick_from_srcset(srcset: str, sizes: str | None, src: str | None) -> str | None:
    """The candidate a 390 px wide, 3x phone loads: with width descriptors, the narrowest
    at least as wide as the slot (sizes, else the viewport) times 3; with densities, the
    lowest at least 3x; the largest when none is enough. A plain src counts as 1x."""
    candidates = parse_srcset(srcset)
    widths = [(value, url) for url, unit, value in candidates if unit == "w"]
    if widths:
        needed = source_size_px(sizes) * PHONE_DPR
        enough = [c for c in widths if c[0] >= needed]
        return min(enough)[1] if enough else max(widths)[1]
    densities = [(value, url) for url, unit, value in candidates if unit == "x"]
    if src and not any(value == 1.0 for value, _ in densities):
        densities.append((1.0, src))
    if not densities:
        return None
    enough = [c for c in densities if c[0] >= PHONE_DPR]
    return min(enough)[1] if enough else max(densities)[1]


def parse_srcset(srcset: str) -> list[tuple[str, str, float]]:
    """(url, "w" or "x", value) per candidate, as HTML's srcset parsing splits them (a URL
    may hold commas; a candidate without a descriptor is 1x)."""
    candidates = []
    pos, end = 0, len(srcset)
    while True:
        while pos < end and (srcset[pos].isspace() or srcset[pos] == ","):
            pos += 1
        if pos >= end:
            return candidates
        start = pos
        while pos < end and not srcset[pos].isspace():
            pos += 1
        url = srcset[start:pos]
        descriptor = ""
        if url.endswith(","):
            url = url.rstrip(",")
        else:
            start, depth = pos, 0
            while pos < end and (srcset[pos] != "," or depth):
                depth += {"(": 1, ")": -1}.get(srcset[pos], 0)
                pos += 1
            descriptor = srcset[start:pos].strip().lower()
        unit, value = "x", 1.0
        for token in descriptor.split():
            with contextlib.suppress(ValueError):
                if token.endswith("w"):
                    unit, value = "w", float(token[:-1])
                elif token.endswith("x"):
                    unit, value = "x", float(token[:-1])
        if url:
            candidates.append((url, unit, value))


def source_size_px(sizes: str | None) -> float:
    """The slot width in CSS px that `sizes` gives on the phone (the viewport by default)."""
    for entry in _split_top_level(sizes or ""):
        match = re.fullmatch(r"(.*?)\s*((?:calc\(.*\))|[\d.]+(?:px|vw|r?em)|0)", entry.strip())
        if match and (not match[1] or media_matches(match[1])):
            return length_px(match[2])
    return float(PHONE_WIDTH_PX)


def length_px(length: str) -> float:
    """A CSS length on the phone: px, vw, em and rem (16 px), sums of those inside calc()."""
    total, matched = 0.0, False
    for sign, number, unit in re.findall(r"([+-]?)\s*([\d.]+)(px|vw|r?em)?", length):
        scale = {"px": 1.0, "vw": PHONE_WIDTH_PX / 100, "em": 16.0, "rem": 16.0}.get(unit, 1.0)
        total += (-1 if sign == "-" else 1) * float(number) * scale
        matched = True
    return total if matched else float(PHONE_WIDTH_PX)


def media_matches(query: str) -> bool:
    """Whether a media query holds on the phone (portrait, 390 px wide, 3x). Understands
    widths, resolution, orientation, and, not and comma; anything else does not match."""
    parts = _split_top_level(query)
    if len(parts) > 1:
        return any(media_matches(part) for part in parts)
    query = query.strip().lower()
    if query.startswith("not "):
        return not media_matches(query[4:])
    for term in re.split(r"\s+and\s+", query.removeprefix("only ").strip()):
        term = term.strip()
        if term in ("all", "screen", ""):
            continue
        match = re.fullmatch(r"\(\s*([\w-]+)\s*(?::\s*([^)]*?))?\s*\)", term)
        if not match or not _feature_matches(match[1], (match[2] or "").strip()):
            return False
    return True


def _feature_matches(name: str, value: str) -> bool:
    width = PHONE_WIDTH_PX
    if name == "min-width":
        return length_px(value) <= width
    if name == "max-width":
        return length_px(value) >= width
    if name == "width":
        return length_px(value) == width
    if name in ("min-resolution", "-webkit-min-device-pixel-ratio"):
        number = re.match(r"[\d.]+", value)
        ratio = float(number[0]) if number else 1.0
        return (ratio / 96 if value.endswith("dpi") else ratio) <= PHONE_DPR
    if name == "orientation":
        return value == "portrait"
    if name == "prefers-color-scheme":
        return value == "light"
    return False


def _split_top_level(text: str) -> list[str]:
    """Split on commas outside parentheses."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [part for part in parts if part.strip()]


def cache_directives(cache_control: str | None) -> dict[str, str]:
    directives = {}
    for part in _split_top_level(cache_control or ""):
        name, _, value = part.strip().partition("=")
        directives[name.strip().lower()] = value.strip().strip('"')
    return directives


def reusable_without_asking(headers: Mapping[str, str]) -> bool:
    """Whether a browser that stored this answer on the first visit uses it on the next one
    without asking the server: explicit freshness only (max-age > 0; or, with no max-age, an
    Expires later than Date), never with no-cache or no-store. No heuristic freshness: an
    answer with a Last-Modified but no lifetime is asked about again. Header names lower-case."""
    directives = cache_directives(headers.get("cache-control"))
    if "no-store" in directives or "no-cache" in directives:
        return False
    if "max-age" in directives:
        try:
            return int(directives["max-age"]) > 0
        except ValueError:
            return False
    try:
        expires = parsedate_to_datetime(headers["expires"])
        date = parsedate_to_datetime(headers["date"])
    except (KeyError, TypeError, ValueError):
        return False
    return expires > date


def revalidation_headers(headers: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """The conditional request for a stored answer (If-None-Match, If-Modified-Since); none
    when it has no validator or was never stored (no-store)."""
    if "no-store" in cache_directives(headers.get("cache-control")):
        return ()
    conditions = []
    if headers.get("etag"):
        conditions.append(("If-None-Match", headers["etag"]))
    if headers.get("last-modified"):
        conditions.append(("If-Modified-Since", headers["last-modified"]))
    return tuple(conditions)


@dataclass
class Answer:
    url: str
    status: int
    headers: dict[str, str]  # names lower-case
    body: bytes  # as transferred: compressed if the server compressed it


class Phone:
    """A phone in WeChat loading the shop: WeChat's User-Agent, `Accept-Encoding: gzip, br`,
    the Accept of each kind of request, and a cookie jar (one cookie per name, any path)."""

    def __init__(self, port: int, cookies: Mapping[str, str]) -> None:
        self.port = port
        self.origin = f"http://{HOST}:{port}"
        self.cookies = dict(cookies)

    def is_shop(self, url: str) -> bool:
        parts = urlsplit(url)
        return (parts.scheme, parts.netloc) == ("http", f"{HOST}:{self.port}")

    def get(self, url: str, kind: str, extra: tuple[tuple[str, str], ...] = ()) -> Answer:
        parts = urlsplit(url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = [
            ("User-Agent", WECHAT_USER_AGENT),
            ("Accept", PHONE_ACCEPT.get(kind, "*/*")),
            ("Accept-Encoding", PHONE_ACCEPT_ENCODING),
            ("Accept-Language", "zh-CN,zh-Hans;q=0.9"),
        ]
        if self.cookies:
            headers.append(("Cookie", "; ".join(f"{k}={v}" for k, v in self.cookies.items())))
        response, body = http_get(self.port, path, (*headers, *extra))
        for name, value in cookie_updates(response.msg.get_all("Set-Cookie") or []).items():
            if value is None:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        headers_seen = {name.lower(): value for name, value in response.getheaders()}
        return Answer(url, response.status, headers_seen, body)

    def follow(self, url: str, kind: str, extra: tuple[tuple[str, str], ...] = ()) -> list[Answer]:
        """GET, following redirects within the shop (conditions go with the first request)."""
        answers = [self.get(url, kind, extra)]
        while answers[-1].status in REDIRECTS and len(answers) < 10:
            location = answers[-1].headers.get("location")
            target = urljoin(answers[-1].url, location) if location else None
            if not target or not self.is_shop(target):
                break
            answers.append(self.get(target, kind))
        return answers

    def text(self, answer: Answer, kind: str) -> str:
        decoded = decode_body(answer.body, answer.headers.get("content-encoding"))
        if decoded is None:  # an encoding we cannot undo: ask again for the plain text
            plain = self.get(answer.url, kind, (("Accept-Encoding", "identity"),))
            decoded = plain.body
        return decoded.decode("utf-8", errors="replace")


@dataclass
class WeightRow:
    what: str
    url: str
    status: str = "-"
    encoding: str = "-"
    first: int | None = None  # bytes on the first visit
    caching: str = "-"
    repeat: str = "-"  # what the next visit did
    repeat_bytes: int | None = None
    first_requests: int = 0
    repeat_requests: int = 0  # a stored answer reused without asking costs none


@dataclass
class PageWeight:
    rows: list[WeightRow] = field(default_factory=list)

    def total(self, column: str) -> int:
        return sum(getattr(row, column) or 0 for row in self.rows)

    def requests(self, visit: str) -> int:
        return sum(getattr(row, f"{visit}_requests") for row in self.rows)

    @property
    def first_kb(self) -> float:
        return self.total("first") / KB

    @property
    def repeat_kb(self) -> float:
        return self.total("repeat_bytes") / KB


def measure_page_weight(port: int, phone_cookie: tuple[str, str]) -> PageWeight:
    """What a phone in WeChat downloads for the home page, on a first visit and the next.

    First visit: no cookie of the shop's. Inside WeChat the shop signs the reader in silently
    (its redirects to WeChat's authorisation and back are followed and counted; the sandbox's
    cookie says who holds the phone, so its authorisation is silent, as WeChat's snsapi_base
    is), then the home page, then every subresource it and its stylesheets name. Bytes are
    bodies as transferred (compressed when the server compressed them), headers excluded.

    Next visit, with the cookies the first one left: the page again (conditional when it was
    stored with a validator), and each subresource the page names, unless its stored answer
    may be reused without asking (reusable_without_asking); answers with a validator are
    asked about conditionally, a 304 costing its (empty) body.
    """
    phone = Phone(port, dict([phone_cookie]))
    weight = PageWeight()
    home = phone.origin + "/"

    def add_rows(what: str, answers: list[Answer], visit: str) -> None:
        for answer in answers:
            row = WeightRow(what, answer.url, str(answer.status))
            row.encoding = answer.headers.get("content-encoding", "identity")
            row.caching = _caching_summary(answer.headers)
            if visit == "first":
                row.first, row.first_requests = len(answer.body), 1
            else:
                row.repeat, row.repeat_bytes = str(answer.status), len(answer.body)
                row.repeat_requests = 1
            weight.rows.append(row)

    # The first visit.
    pages = phone.follow(home, "page")
    page = pages[-1]
    if page.status != 200:
        where = page.headers.get("location", "")
        raise BenchError(f"a phone's first visit to / ended with {page.status} {where}".strip())
    add_rows("page", pages, "first")
    stored: dict[str, list[Answer]] = {}
    named_by_css: dict[str, list[Subresource]] = {}
    queue = parse_subresources(phone.text(page, "page"), page.url)
    rows_by_url: dict[str, WeightRow] = {}
    while queue:
        sub = queue.pop(0)
        if sub.url in rows_by_url:
            continue
        row = rows_by_url[sub.url] = WeightRow(sub.kind + (" lazy" if sub.lazy else ""), sub.url)
        weight.rows.append(row)
        if not phone.is_shop(sub.url):
            row.status = "not fetched: another site"
            continue
        answers = stored[sub.url] = phone.follow(sub.url, sub.kind)
        last = answers[-1]
        row.status = "→".join(str(a.status) for a in answers)
        row.encoding = last.headers.get("content-encoding", "identity")
        row.first = sum(len(a.body) for a in answers)
        row.first_requests = len(answers)
        row.caching = _caching_summary(last.headers)
        if sub.kind == "stylesheet" and last.status == 200:
            named_by_css[sub.url] = [
                Subresource(kind, urljoin(last.url, url).partition("#")[0])
                for kind, url in css_references(phone.text(last, sub.kind))
            ]
            queue.extend(named_by_css[sub.url])

    # The next visit.
    conditions = revalidation_headers(page.headers) if page.url == home else ()
    again = phone.follow(home, "page", conditions)
    add_rows("page again", again, "repeat")
    if again[-1].status == 304:
        html, base = phone.text(page, "page"), page.url
    elif again[-1].status == 200:
        html, base = phone.text(again[-1], "page"), again[-1].url
    else:
        raise BenchError(f"a phone's next visit to / ended with {again[-1].status}")
    queue = parse_subresources(html, base)
    done: set[str] = set()
    while queue:
        sub = queue.pop(0)
        if sub.url in done or not phone.is_shop(sub.url):
            continue
        done.add(sub.url)
        row = rows_by_url.get(sub.url)
        if row is None:  # named only on the second visit
            row = rows_by_url[sub.url] = WeightRow(sub.kind, sub.url)
            weight.rows.append(row)
        actions, spent, fresh = [], 0, None
        for answer in stored.get(sub.url) or [Answer(sub.url, 0, {}, b"")]:
            if answer.status and reusable_without_asking(answer.headers):
                actions.append("reused")
                continue
            asked = phone.get(answer.url, sub.kind, revalidation_headers(answer.headers))
            spent += len(asked.body)
            actions.append(str(asked.status))
            if asked.status != 304:
                fresh = asked
                break
        row.repeat, row.repeat_bytes = "→".join(actions), spent
        row.repeat_requests = sum(action != "reused" for action in actions)
        if sub.kind == "stylesheet":
            if fresh is not None and fresh.status == 200:
                named = [
                    Subresource(kind, urljoin(fresh.url, url).partition("#")[0])
                    for kind, url in css_references(phone.text(fresh, sub.kind))
                ]
            else:
                named = named_by_css.get(sub.url, [])
            queue.extend(named)
    for row in weight.rows:
        if row.first is not None and row.repeat_bytes is None and row.what != "page":
            row.repeat = "not named"  # a subresource the next visit's page does not use
    return weight


def _caching_summary(headers: Mapping[str, str]) -> str:
    """Cache-Control, and +ETag / +LM (Last-Modified) for the validators."""
    summary = headers.get("cache-control", "no Cache-Control")
    if "etag" in headers:
        summary += " +ETag"
    if "last-modified" in headers:
        summary += " +LM"
    return summary


def print_page_weight(weight: PageWeight) -> None:
    print()
    print("home page weight: a phone in WeChat (390 px, 3x), first visit then the next one")
    print(
        f"{'what':<16} {'path':<46} {'status':>7} {'encoding':>8} {'1st B':>8}  "
        f"{'caching':<34} {'next':>7} {'2nd B':>7}"
    )
    for row in weight.rows:
        parts = urlsplit(row.url)
        path = (parts.path + (f"?{parts.query}" if parts.query else "")) or "/"
        if parts.netloc != urlsplit(weight.rows[0].url).netloc:
            path = row.url
        path = path if len(path) <= 46 else path[:45] + "…"
        first = "-" if row.first is None else str(row.first)
        second = "-" if row.repeat_bytes is None else str(row.repeat_bytes)
        print(
            f"{row.what:<16} {path:<46} {row.status:>7} {row.encoding:>8} {first:>8}  "
            f"{row.caching[:34]:<34} {row.repeat:>7} {second:>7}"
        )
    lazy = sum(row.first or 0 for row in weight.rows if row.what.endswith(" lazy"))
    print(
        f"first visit {weight.first_kb:.1f} kB in {weight.requests('first')} requests, "
        f"{lazy / KB:.1f} kB of it lazy images (all counted, as for a reader who scrolls down); "
        f"next visit {weight.repeat_kb:.1f} kB in {weight.requests('repeat')} requests"
    )
    print(
        f"(kB = {KB} bytes of body as transferred, headers not counted; from a srcset, the "
        "candidate a 390 px wide 3x phone picks)"
    )


# --- the run ----------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=15, help="seconds measured per target")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of unmeasured load first")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads / loader processes")
    parser.add_argument(
        "--loader",
        choices=["auto", "wrk", "python"],
        default="auto",
        help="auto: wrk when it is on the PATH, else the built-in Python load generator",
    )
    parser.add_argument("--product", help="product slug (default: a published paid one)")
    parser.add_argument("--worker", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--header", action="append", default=[], help=argparse.SUPPRESS)
    parser.add_argument("--setup-reader", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        return worker_main(args.worker, args.header, args.connections, args.duration)
    if args.setup_reader:
        return setup_reader_main()

    wrk = shutil.which("wrk") if args.loader in ("auto", "wrk") else None
    if args.loader == "wrk" and not wrk:
        print("error: --loader wrk but wrk is not on the PATH", file=sys.stderr)
        return 2

    def load(url: str, headers: tuple[tuple[str, str], ...], seconds: int) -> Measurement:
        if wrk:
            return run_wrk(wrk, url, headers, seconds, args.connections, args.threads, procs)
        return run_python_load(url, headers, seconds, args.connections, args.threads, procs)

    signal.signal(signal.SIGTERM, _raise_on_sigterm)
    procs = Processes()
    results: dict[str, Measurement] = {}
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="storefront-bench-") as tmp:
            instance = Path(tmp) / "instance"
            log = Path(tmp) / "gunicorn.log"
            env = shop_env(instance)
            print_header(wrk, args)
            prepare_demo(env, procs)
            slug = args.product or pick_product_slug(instance / "shop.db")
            reader = sign_in_reader(env, procs)
            owns = ", ".join(reader.owns)
            print(f"  reader   sandbox WeChat reader {READER_NICKNAME}, owns {owns};")
            print(f"           progress at lesson {reader.lesson} of {reader.course}")

            anonymous = [Target("home", "/"), Target("product", f"/p/{slug}")]
            with gunicorn(["wsgi:app"], env, procs, log) as port:
                for target in anonymous:
                    size = check_ok(port, target.path)
                    print(f"  {target.name:<14} GET {target.path} -> 200, {size} bytes")
                targets = [*anonymous, *signed_in_targets(port, reader)]
                weight = measure_page_weight(port, reader.phone_cookie)
                print(
                    f"  weight   home: first visit {weight.first_kb:.1f} kB, "
                    f"next visit {weight.repeat_kb:.1f} kB (table at the end)"
                )
                for target in targets:
                    results[target.name] = measure(load, f"http://{HOST}:{port}", target, args)

            with gunicorn(["--chdir", "bench", "hello_app:app"], env, procs, log) as port:
                size = check_ok(port, "/")
                print(f"  {'hello':<14} GET / -> 200, {size} bytes (bench/hello_app.py)")
                hello = Target("hello", "/")
                results["hello"] = measure(load, f"http://{HOST}:{port}", hello, args)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        procs.stop_all()

    report(results, weight, args.connections)
    print(f"(whole run {time.monotonic() - started:.0f} s)")
    return 0


def measure(load, origin: str, target: Target, args: argparse.Namespace) -> Measurement:
    url = origin + target.path
    if args.warmup > 0:
        load(url, target.headers, args.warmup)
    result = load(url, target.headers, args.duration)
    print(f"  measured {target.name} {url}: {result.rps:.1f} req/s, p99 {result.p99_ms:.2f} ms")
    return result


def print_header(wrk: str | None, args: argparse.Namespace) -> None:
    loader = wrk or "built-in Python load generator (asyncio, one process per thread)"
    cache = os.environ.get("FLASK_PAGE_CACHE_SIZE", "unset (app default)")
    print("Storefront benchmark")
    python = platform.python_version()
    print(f"  machine  {platform.machine()}, {os.cpu_count()} CPUs, Python {python}")
    # Anything else running shares the CPUs with gunicorn and the loader: numbers will be low.
    print("  loadavg  {:.2f} {:.2f} {:.2f} before the run".format(*os.getloadavg()))
    print(f"  server   gunicorn, {WORKERS} sync workers, no --preload, {HOST}")
    print(f"  loader   {loader}")
    print(
        f"  load     {args.connections} connections, {args.threads} threads, "
        f"{args.warmup}s warm-up + {args.duration}s per target"
    )
    print(f"  cache    FLASK_PAGE_CACHE_SIZE {cache}")
    print("  visitor  home, product: anonymous (no cookie, desktop User-Agent)")
    print(
        "           reader_*: a signed-in WeChat reader (session cookie, WeChat's User-Agent, "
        f"Accept-Encoding: {PHONE_ACCEPT_ENCODING})"
    )


ANONYMOUS_TARGETS = ("home", "product")
READER_TARGETS = (
    "reader_home",
    "reader_product",
    "reader_lesson",
    "reader_library",
    "reader_me",
)


def report(results: dict[str, Measurement], weight: PageWeight, connections: int) -> None:
    hello = results["hello"].rps
    ratios = {name: (m.rps / hello if hello else 0.0) for name, m in results.items()}
    print()
    print(
        f"{'target':<14} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'vs hello':>9} "
        f"{'requests':>9} {'errors':>7} {'non-2xx':>8}"
    )
    for name, m in results.items():
        print(
            f"{name:<14} {m.rps:>9.1f} {m.p50_ms:>8.2f} {m.p99_ms:>8.2f} {ratios[name]:>9.3f} "
            f"{m.requests:>9} {m.errors:>7} {m.non_2xx:>8}"
        )
    print()
    met = True
    for name in (*ANONYMOUS_TARGETS, *READER_TARGETS):
        m = results[name]
        min_ratio = MIN_READER_RATIO if name in READER_TARGETS else MIN_RATIO
        ratio_ok = ratios[name] >= min_ratio
        p99_ok = m.p99_ms < MAX_P99_MS
        clean = m.non_2xx == 0 and m.errors == 0
        met = met and ratio_ok and p99_ok and clean
        print(
            f"{name:<14} ratio {ratios[name]:.3f} (>= {min_ratio}: {_yes(ratio_ok)}), "
            f"p99 {m.p99_ms:.2f} ms (< {MAX_P99_MS:.0f} ms at {connections} connections: "
            f"{_yes(p99_ok)}), errors {_yes(not clean, 'yes', 'none')}"
        )
    if results["hello"].non_2xx or results["hello"].errors:
        print("warning: hello-world had errors; the ratios are suspect")
    print_page_weight(weight)
    first_ok = weight.first_kb < MAX_FIRST_VISIT_KB
    repeat_ok = weight.repeat_kb < MAX_REPEAT_VISIT_KB
    met = met and first_ok and repeat_ok
    print(
        f"{'home weight':<14} first visit {weight.first_kb:.1f} kB (< {MAX_FIRST_VISIT_KB}: "
        f"{_yes(first_ok)}), next visit {weight.repeat_kb:.1f} kB (< {MAX_REPEAT_VISIT_KB}: "
        f"{_yes(repeat_ok)})"
    )
    print(f"targets {'met' if met else 'NOT met'}")
    errors = sum(m.errors + m.non_2xx for m in results.values())
    print(
        "RESULT"
        f" home_rps={results['home'].rps:.1f}"
        f" product_rps={results['product'].rps:.1f}"
        f" hello_rps={hello:.1f}"
        f" home_ratio={ratios['home']:.3f}"
        f" product_ratio={ratios['product']:.3f}"
        f" home_p99_ms={results['home'].p99_ms:.2f}"
        f" product_p99_ms={results['product'].p99_ms:.2f}"
        + "".join(f" {name}_ratio={ratios[name]:.3f}" for name in READER_TARGETS)
        + "".join(f" {name}_p99_ms={results[name].p99_ms:.2f}" for name in READER_TARGETS)
        + f" errors={errors}"
        f" home_first_visit_kb={weight.first_kb:.1f}"
        f" home_repeat_visit_kb={weight.repeat_kb:.1f}"
    )


def _yes(flag: bool, yes: str = "ok", no: str = "FAIL") -> str:
    return yes if flag else no


if __name__ == "__main__":
    sys.exit(main())
