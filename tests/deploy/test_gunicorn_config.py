"""deploy/gunicorn.conf.py, loaded the way gunicorn loads it, and a real gunicorn started with
it: threads, counts from app/serving.py, graceful reload, and an access log that never holds a
query string or a Referer (share links carry the sharer's code, the sign-in callback an OAuth
code)."""

import logging
import os
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from gunicorn.app.base import Application
from gunicorn.glogging import Logger

from app import serving

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "deploy" / "gunicorn.conf.py"
SECRETS = ("SHARER-CODE-1234", "OAUTH-CODE-5678")


class _Loaded(Application):
    """gunicorn's own reading of a configuration file, without running anything."""

    def load_config(self):
        self.load_config_from_file(str(CONFIG))

    def load(self):  # pragma: no cover - never served
        raise AssertionError("not served")


def _config(monkeypatch, **environ):
    for name in ("GUNICORN_BIND", "WEB_CONCURRENCY", "GUNICORN_THREADS", "FORWARDED_ALLOW_IPS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    return _Loaded().cfg


def test_threads_counted_in_one_place(monkeypatch):
    cfg = _config(monkeypatch)
    assert cfg.worker_class_str == "gthread"
    assert cfg.workers == serving.worker_count() >= 2
    assert cfg.threads == serving.thread_count()
    assert cfg.wsgi_app == "wsgi:app"
    assert Path(cfg.chdir) == ROOT
    cfg = _config(monkeypatch, WEB_CONCURRENCY="3", GUNICORN_THREADS="5")
    assert (cfg.workers, cfg.threads) == (3, 5)


def test_bind_and_trusted_proxy_match_the_nginx_site(monkeypatch):
    cfg = _config(monkeypatch)
    assert cfg.bind == ["127.0.0.1:8000"]
    site = (ROOT / "deploy" / "nginx" / "shop.conf").read_text()
    assert "server 127.0.0.1:8000" in site
    assert cfg.forwarded_allow_ips == ["127.0.0.1", "::1"]
    assert _config(monkeypatch, GUNICORN_BIND="0.0.0.0:8000").bind == ["0.0.0.0:8000"]


def test_reload_is_graceful_and_loads_new_code(monkeypatch):
    cfg = _config(monkeypatch)
    assert cfg.preload_app is False  # a preloaded app would keep the old code across a HUP
    assert 0 < cfg.graceful_timeout <= cfg.timeout
    assert cfg.keepalive > 60  # nginx's upstream keepalive_timeout closes first


def _logged_line(cfg, request, environ) -> str:
    lines = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())
    logger = Logger(cfg)
    logger.access_log.addHandler(handler)
    try:
        response = SimpleNamespace(status="200 OK", sent=1234, headers=[])
        logger.access(response, request, environ, timedelta(milliseconds=12))
    finally:
        logger.access_log.removeHandler(handler)
    assert len(lines) == 1
    return lines[0]


def test_the_access_log_has_the_path_and_no_query_or_referer(monkeypatch):
    cfg = _config(monkeypatch)
    assert "%(r)s" not in cfg.access_log_format and "%(q)s" not in cfg.access_log_format
    referer = f"https://shop.example.com/auth/callback?code={SECRETS[1]}"
    request = SimpleNamespace(
        headers=[("X-REAL-IP", "203.0.113.9"), ("REFERER", referer), ("USER-AGENT", "WeChat")]
    )
    line = _logged_line(
        cfg,
        request,
        {
            "REQUEST_METHOD": "GET",
            "RAW_URI": f"/p/item-1?by={SECRETS[0]}",
            "PATH_INFO": "/p/item-1",
            "QUERY_STRING": f"by={SECRETS[0]}",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_X_REAL_IP": "203.0.113.9",
            "HTTP_REFERER": referer,
            "HTTP_USER_AGENT": "MicroMessenger",
        },
    )
    assert '"GET /p/item-1 HTTP/1.1" 200 1234' in line
    assert line.startswith("203.0.113.9 ")
    for secret in SECRETS:
        assert secret not in line


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_real_gunicorn_serves_the_shop_and_logs_no_query(tmp_path):
    """Started from another folder with nothing but the configuration file and wsgi:app."""
    port = _free_port()
    environ = {
        **os.environ,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": "2",
        "SHOP_INSTANCE_PATH": str(tmp_path / "instance"),
    }
    log_path = tmp_path / "gunicorn.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(CONFIG)],
            cwd=tmp_path,
            env=environ,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_served(
                server, f"http://127.0.0.1:{port}/static/css/shop.css?by={SECRETS[0]}"
            )
            time.sleep(0.3)  # the access line is written just after the answer
        finally:
            server.terminate()
            server.wait(timeout=30)
    output = log_path.read_text()
    assert "Using worker: gthread" in output
    assert '"GET /static/css/shop.css HTTP/1.1" 200' in output
    assert SECRETS[0] not in output


def _wait_until_served(server, url) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                assert response.status == 200
                return
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail("gunicorn did not serve (its output is in the test's log file)")
            time.sleep(0.2)
