"""app/static: a content hash in every URL, a year of caching, gzip computed once."""

import gzip
import hashlib
import os
import re
from pathlib import Path

from flask import url_for

from app.catalog import queries
from app.extensions import db
from app.web.static_assets import IMMUTABLE, StaticAssets

STATIC = Path(__file__).parents[2] / "app" / "static"
SHOP_CSS = (STATIC / "css" / "shop.css").read_bytes()
CSS_VERSION = hashlib.sha256(SHOP_CSS).hexdigest()[:12]


def test_templates_link_static_files_by_their_content_hash(app, client):
    with app.app_context():
        queries.shop_profile()
        db.session.commit()
    page = client.get("/").get_data(as_text=True)
    assert f'href="/static/css/shop.css?v={CSS_VERSION}"' in page
    favicon = hashlib.sha256((STATIC / "img" / "favicon.svg").read_bytes()).hexdigest()[:12]
    assert f"/static/img/favicon.svg?v={favicon}" in page
    # Every static URL on the page is versioned.
    for url in re.findall(r'"(/static/[^"]+)"', page):
        assert "?v=" in url, url


def test_url_for_static_outside_a_page(app):
    with app.test_request_context():
        assert url_for("static", filename="js/pay.js").startswith("/static/js/pay.js?v=")
        # A name that is no file gets no version (and a 404 when asked for).
        assert url_for("static", filename="js/nothing.js") == "/static/js/nothing.js"


def test_a_versioned_file_is_kept_for_a_year(client):
    response = client.get(f"/static/css/shop.css?v={CSS_VERSION}")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == IMMUTABLE
    assert "immutable" in response.headers["Cache-Control"]
    assert "max-age=31536000" in response.headers["Cache-Control"]
    assert response.get_data() == SHOP_CSS
    assert response.mimetype == "text/css"


def test_unversioned_or_stale_urls_still_work_but_are_revalidated(client):
    for url in ("/static/css/shop.css", "/static/css/shop.css?v=0123456789ab"):
        response = client.get(url)
        assert response.status_code == 200
        assert response.get_data() == SHOP_CSS
        assert response.headers["Cache-Control"] == "no-cache"
        again = client.get(url, headers={"If-None-Match": response.headers["ETag"]})
        assert again.status_code == 304 and again.get_data() == b""


def test_static_files_are_gzipped_once_per_process(app, client, monkeypatch):
    url = f"/static/css/shop.css?v={CSS_VERSION}"
    client.get(url)  # loads and compresses
    calls = []
    monkeypatch.setattr("app.web.compression.gzip_bytes", lambda data: calls.append(data))
    packed = client.get(url, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert calls == []  # served from memory
    assert packed.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed.headers["Vary"]
    assert packed.headers["Cache-Control"] == IMMUTABLE
    assert int(packed.headers["Content-Length"]) == len(packed.get_data()) < len(SHOP_CSS) / 2
    assert gzip.decompress(packed.get_data()) == SHOP_CSS
    plain = client.get(url)
    assert "Content-Encoding" not in plain.headers and plain.get_data() == SHOP_CSS
    assert plain.headers["ETag"] != packed.headers["ETag"]  # two representations


def test_small_files_are_sent_as_they_are(client):
    favicon = client.get("/static/img/favicon.svg", headers={"Accept-Encoding": "gzip"})
    assert favicon.status_code == 200 and "Content-Encoding" not in favicon.headers
    assert favicon.mimetype == "image/svg+xml"


def test_head_and_missing_and_escaping_names(client):
    head = client.head(f"/static/css/shop.css?v={CSS_VERSION}")
    assert head.status_code == 200 and head.get_data() == b""
    assert int(head.headers["Content-Length"]) == len(SHOP_CSS)
    assert client.get("/static/css/none.css").status_code == 404
    assert client.get("/static/../__init__.py").status_code == 404
    assert client.get("/static/%2e%2e/__init__.py").status_code == 404


def test_a_changed_file_gets_a_new_hash_only_when_watching(tmp_path):
    (tmp_path / "a.css").write_text("body { color: red }")
    fixed, watching = StaticAssets(tmp_path), StaticAssets(tmp_path, check_changes=True)
    before = fixed.version("a.css")
    assert watching.version("a.css") == before
    (tmp_path / "a.css").write_text("body { color: blue }")
    os.utime(tmp_path / "a.css", (1, 1))
    assert fixed.version("a.css") == before  # computed once per process
    assert watching.version("a.css") not in (None, before)  # app.debug: edits show
    assert fixed.version("missing.css") is None
