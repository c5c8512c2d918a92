"""The nginx site in front of the shop, for real: `nginx -t` accepts it, and a live nginx on
loopback ports (no root needed) in front of the shop on a server thread sends a paid file
through X-Accel-Redirect (the shop's answer has no body), keeps versioned static files for a
year, compresses CSS, passes the reader's address, and logs no query string."""

import gzip
import http.client
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path

import pytest
from flask import request, url_for
from werkzeug.serving import make_server

from app.extensions import db
from app.models import ProductKind
from tests import factories
from tests.conftest import make_app, sign_in_as
from tests.deploy.nginx_site import check, nginx_binary, nginx_command, render
from tests.media.helpers import course, make_audio, processed

FILE_CONTENT = "资料文件里的付费内容。" * 4000  # ~130 kB: more than one write of nginx's
SHARER = "SHARER-CODE-1234"
READER_ADDRESS = "127.0.0.5"  # loopback has all of 127/8: the reader differs from nginx


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_nginx_accepts_the_site(tmp_path):
    binary = nginx_binary()
    rendered = render(
        tmp_path,
        http_port=_free_port(),
        https_port=_free_port(),
        upstream_port=_free_port(),
        uploads=tmp_path / "uploads",
    )
    result = check(binary, rendered)
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr


@pytest.fixture
def live(tmp_path):
    """The shop (X-Accel-Redirect on, PROXY_FIX_HOPS=1) on a server thread, nginx in front."""
    binary = nginx_binary()
    app = make_app(tmp_path, X_ACCEL_REDIRECT_PREFIX="/_uploads/", PROXY_FIX_HOPS=1)
    shop_answers = []

    @app.get("/_test/client-address")
    def client_address():
        return request.remote_addr or ""

    @app.after_request
    def note_answer(response):
        shop_answers.append((request.path, response.headers.get("X-Accel-Redirect"), response))
        return response

    with app.app_context():
        item = factories.product(ProductKind.DOWNLOAD, price_fen=1990, body_md="资料介绍")
        record = factories.attach_file(
            item, Path(app.config["UPLOAD_FOLDER"]), "资料包.md", content=FILE_CONTENT
        )
        buyer = factories.reader(openid="o-buyer", nickname="买家")
        factories.give(buyer, item)
        lessons = course()
        factories.give(buyer, lessons)
        db.session.commit()
        media = processed(lessons, make_audio(tmp_path), lessons.sections[1])
        download = f"/p/{item.slug}/files/{record.id}"
        buyer_id, media_id = buyer.id, media.id
    with app.test_request_context():
        stylesheet = url_for("static", filename="css/shop.css")
    client = app.test_client()
    sign_in_as(app, client, buyer_id)
    cookie_name = app.config["SESSION_COOKIE_NAME"]
    cookie = f"{cookie_name}={client.get_cookie(cookie_name).value}"

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    http_port, https_port = _free_port(), _free_port()
    rendered = render(
        tmp_path / "nginx",
        http_port=http_port,
        https_port=https_port,
        upstream_port=server.server_port,
        uploads=Path(app.config["UPLOAD_FOLDER"]),
    )
    nginx = subprocess.Popen(
        nginx_command(binary, rendered, "-g", "daemon off;"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    tls = ssl.create_default_context(cafile=str(rendered.certificate))
    try:
        _wait_for_port(https_port, nginx)

        def fetch(path, *, tls_port=True, headers=None):
            if tls_port:
                connection = http.client.HTTPSConnection(
                    "127.0.0.1", https_port, context=tls, source_address=(READER_ADDRESS, 0)
                )
            else:
                connection = http.client.HTTPConnection("127.0.0.1", http_port)
            connection.request("GET", path, headers={"Host": "shop.example.com", **(headers or {})})
            response = connection.getresponse()
            body = response.read()
            connection.close()
            return response, body

        yield {
            "fetch": fetch,
            "download": download,
            "media_id": media_id,
            "cookie": cookie,
            "stylesheet": stylesheet,
            "shop_answers": shop_answers,
            "nginx": rendered,
        }
    finally:
        nginx.terminate()
        nginx.wait(timeout=30)
        nginx.stderr.close()
        server.shutdown()
        server.server_close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def _wait_for_port(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"nginx stopped: {process.stderr.read().decode()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    pytest.fail("nginx did not listen")


def test_a_paid_file_is_sent_by_nginx(live):
    response, body = live["fetch"](live["download"], headers={"Cookie": live["cookie"]})
    assert response.status == 200
    assert body.decode() == FILE_CONTENT
    assert response.getheader("Content-Type") == "text/markdown; charset=utf-8"
    assert response.getheader("Content-Disposition").startswith("attachment;")
    assert response.getheader("Cache-Control") == "private, no-store"
    assert response.getheader("X-Content-Type-Options") == "nosniff"
    assert response.getheader("Strict-Transport-Security")
    assert response.getheader("X-Accel-Redirect") is None  # nginx's own business
    # The shop answered with the header and an empty body: nginx sent the bytes.
    path, redirect, answer = live["shop_answers"][-1]
    assert path == live["download"]
    assert redirect.startswith("/_uploads/files/")
    assert answer.get_data() == b""


def test_a_stranger_gets_the_paywall_and_cannot_ask_nginx_directly(live):
    response, body = live["fetch"](live["download"])
    assert response.status == 403
    assert FILE_CONTENT[:20] not in body.decode()
    _, redirect, _ = live["shop_answers"][-1]
    assert redirect is None
    # The file's internal URL, as the shop names it to nginx for a buyer, is no way in.
    live["fetch"](live["download"], headers={"Cookie": live["cookie"]})
    _, redirect, _ = live["shop_answers"][-1]
    for path in (redirect, "/_uploads/files/", "/_uploads/../secret_key"):
        response, body = live["fetch"](path)
        assert response.status in (400, 404), path
        assert FILE_CONTENT[:20] not in body.decode()


def test_a_lessons_segments_are_sent_by_nginx_after_the_shops_check(live):
    fetch, headers = live["fetch"], {"Cookie": live["cookie"]}
    response, master = fetch(f"/play/{live['media_id']}.m3u8", headers=headers)
    assert response.status == 200 and response.getheader("Cache-Control") == "private, no-store"
    rendition = next(line for line in master.decode().splitlines() if line.startswith("/"))
    _, playlist = fetch(rendition, headers=headers)
    segment = next(line for line in playlist.decode().splitlines() if line.startswith("/"))
    response, body = fetch(segment, headers=headers)
    assert response.status == 200 and len(body) > 1000
    assert response.getheader("Content-Type") == "video/mp2t"
    _, redirect, answer = live["shop_answers"][-1]
    assert redirect.startswith("/_uploads/media/") and answer.get_data() == b""
    # Without the buyer's session the same address is refused, and nginx is no way around.
    assert fetch(segment)[0].status == 403
    assert fetch(redirect)[0].status in (400, 404)


def test_versioned_static_files_are_kept_a_year_and_compressed(live):
    assert "?v=" in live["stylesheet"]
    response, body = live["fetch"](live["stylesheet"], headers={"Accept-Encoding": "gzip"})
    assert response.status == 200
    assert "max-age=31536000" in response.getheader("Cache-Control")
    assert "immutable" in response.getheader("Cache-Control")
    assert response.getheader("Content-Encoding") == "gzip"
    assert b"{" in gzip.decompress(body)
    stale, _ = live["fetch"]("/static/css/shop.css?v=000000000000")
    assert stale.getheader("Cache-Control") == "no-cache"


def test_the_shop_sees_the_readers_address_not_a_forged_one(live):
    _, body = live["fetch"]("/_test/client-address")
    assert body.decode() == READER_ADDRESS
    _, body = live["fetch"]("/_test/client-address", headers={"X-Forwarded-For": "203.0.113.7"})
    assert body.decode() == READER_ADDRESS


def test_plain_http_redirects_but_answers_certbot(live):
    response, _ = live["fetch"](f"/p/x?by={SHARER}", tls_port=False)
    assert response.status == 301
    assert response.getheader("Location") == f"https://shop.example.com/p/x?by={SHARER}"
    challenge = live["nginx"].folder / "acme" / ".well-known" / "acme-challenge"
    challenge.mkdir(parents=True)
    (challenge / "token123").write_text("proof")
    response, body = live["fetch"]("/.well-known/acme-challenge/token123", tls_port=False)
    assert (response.status, body) == (200, b"proof")


def test_the_access_log_has_no_query_string(live):
    live["fetch"](f"/?by={SHARER}")
    live["fetch"](f"/p/x?by={SHARER}", tls_port=False)
    log = live["nginx"].access_log.read_text()
    assert '"GET / HTTP/' in log and '"GET /p/x HTTP/' in log
    assert SHARER not in log
