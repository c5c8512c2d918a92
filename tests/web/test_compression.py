"""gzip for pages and text: applied when it helps, skipped when it cannot, computed once."""

import gzip
import json
from pathlib import Path

import pytest
from flask import Response, jsonify

from app.catalog import queries
from app.extensions import db
from app.web.compression import MIN_SIZE, GzipMemo
from tests import factories

GZIP = {"Accept-Encoding": "gzip, deflate, br"}
BIG = "知识小店 " * 600  # about 7 KB of text


@pytest.fixture
def edge_app(app):
    """The shop with a few routes that answer what the edge must handle."""

    @app.get("/_t/text/<kind>")
    def text(kind):
        body = {"html": f"<p>{BIG}</p>", "small": "<p>小</p>"}[kind]
        return body

    @app.get("/_t/json")
    def big_json():
        return jsonify(items=[BIG] * 2)

    @app.get("/_t/encoded")
    def encoded():
        response = Response(gzip.compress(BIG.encode()), mimetype="text/html")
        response.headers["Content-Encoding"] = "gzip"
        return response

    @app.get("/_t/stream")
    def stream():
        return Response((BIG for _ in range(3)), mimetype="text/html")

    @app.get("/_t/png")
    def png():
        return Response(b"\x89PNG" + b"\0" * 4000, mimetype="image/png")

    @app.get("/_t/no-transform")
    def no_transform():
        response = Response(BIG, mimetype="text/html")
        response.headers["Cache-Control"] = "no-transform"
        return response

    @app.get("/_t/etag")
    def with_etag():
        response = Response(BIG, mimetype="text/html")
        response.set_etag("abc")
        return response

    return app


def test_html_is_gzipped_with_vary_and_the_right_length(edge_app):
    client = edge_app.test_client()
    response = client.get("/_t/text/html", headers=GZIP)
    assert response.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response.headers["Vary"]
    body = response.get_data()
    assert int(response.headers["Content-Length"]) == len(body)
    assert gzip.decompress(body).decode() == f"<p>{BIG}</p>"
    assert len(body) < len(BIG.encode()) / 4


def test_json_is_gzipped_and_decodes_to_the_same_data(edge_app):
    response = edge_app.test_client().get("/_t/json", headers=GZIP)
    assert response.headers["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(response.get_data())) == {"items": [BIG, BIG]}


def test_the_shop_pages_come_gzipped(app):
    with app.app_context():
        queries.shop_profile()
        for n in range(6):
            factories.product(title=f"第 {n} 课")
        db.session.commit()
    client = app.test_client()
    plain = client.get("/").get_data()
    packed = client.get("/", headers=GZIP)
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.get_data()) == plain
    assert packed.headers["Content-Security-Policy"]  # the other hooks still ran


def test_without_accept_encoding_the_body_is_plain_but_varies(edge_app):
    client = edge_app.test_client()
    for headers in ({}, {"Accept-Encoding": "identity"}, {"Accept-Encoding": "gzip;q=0"}):
        response = client.get("/_t/text/html", headers=headers)
        assert "Content-Encoding" not in response.headers
        assert response.get_data(as_text=True) == f"<p>{BIG}</p>"
        assert "Accept-Encoding" in response.headers["Vary"]  # a cache must keep both apart
    wildcard = client.get("/_t/text/html", headers={"Accept-Encoding": "*"})
    assert wildcard.headers["Content-Encoding"] == "gzip"


def test_small_bodies_are_left_alone(edge_app):
    response = edge_app.test_client().get("/_t/text/small", headers=GZIP)
    assert len(response.get_data()) < MIN_SIZE
    assert "Content-Encoding" not in response.headers
    assert "Accept-Encoding" not in response.headers.get("Vary", "")


def test_head_is_not_compressed(edge_app):
    response = edge_app.test_client().head("/_t/text/html", headers=GZIP)
    assert response.status_code == 200
    assert "Content-Encoding" not in response.headers
    assert int(response.headers["Content-Length"]) == len(f"<p>{BIG}</p>".encode())


@pytest.mark.parametrize("path", ["/_t/encoded", "/_t/stream", "/_t/png", "/_t/no-transform"])
def test_encoded_streamed_binary_and_no_transform_answers_pass_through(edge_app, path):
    client = edge_app.test_client()
    plain = client.get(path)
    response = client.get(path, headers=GZIP)
    assert response.get_data() == plain.get_data()
    if path == "/_t/encoded":  # encoded once, by its view, never twice
        assert response.headers["Content-Encoding"] == "gzip"
        assert gzip.decompress(response.get_data()).decode() == BIG
    else:
        assert "Content-Encoding" not in response.headers


def test_files_sent_from_disk_are_not_read_into_memory(client):
    # send_file answers (covers, downloads) are passed through as they are.
    folder = Path(client.application.config["UPLOAD_FOLDER"]) / "covers"
    folder.mkdir(parents=True)
    (folder / "x-0123456789.svg").write_text("<svg>" + " " * 4000 + "</svg>")
    with client.get("/media/covers/x-0123456789.svg", headers=GZIP) as response:
        assert response.status_code == 200 and "Content-Encoding" not in response.headers


def test_a_strong_etag_becomes_weak_once_compressed(edge_app):
    response = edge_app.test_client().get("/_t/etag", headers=GZIP)
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.headers["ETag"] == 'W/"abc"'


def test_the_same_body_is_compressed_once(app_factory):
    app = app_factory(PAGE_CACHE_SIZE=64, PAGE_CACHE_VERSION_TTL=3600)
    with app.app_context():
        queries.shop_profile()
        for n in range(6):
            factories.product(title=f"第 {n} 课")
        db.session.commit()
    client = app.test_client(use_cookies=False)
    memo = app.extensions["gzip_memo"]
    first = client.get("/", headers=GZIP)
    made = memo.compressions
    for _ in range(5):  # page-cache hits: the same bytes, never compressed again
        again = client.get("/", headers=GZIP)
        assert again.get_data() == first.get_data()
    assert memo.compressions == made


def test_the_memo_keeps_repeated_bodies_through_a_stream_of_one_off_pages():
    memo = GzipMemo(probation=4, protected=4)
    popular = b"popular page " * 200
    memo.compressed(popular)
    memo.compressed(popular)  # served twice: protected
    for n in range(50):  # one-off pages churn the probation segment only
        memo.compressed(f"page {n} ".encode() * 200)
    made = memo.compressions
    assert gzip.decompress(memo.compressed(popular)) == popular
    assert memo.compressions == made


def test_the_studio_is_never_compressed(studio):
    """Its pages hold the creator's CSRF token beside text a link can choose (BREACH)."""
    page = studio.get("/studio/readers?q=abc", headers=GZIP)
    assert page.status_code == 200 and len(page.get_data()) >= MIN_SIZE
    assert "Content-Encoding" not in page.headers
    assert 'name="csrf_token"' in page.get_data(as_text=True)
