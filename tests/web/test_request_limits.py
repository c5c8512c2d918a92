"""Request bodies have a size per kind of route, refused before anything reads them."""

import io
import json

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Response

from app.extensions import db
from app.models import ProductKind
from tests import factories
from tests.payflow import csrf_token_in


class UnreadableBody(io.RawIOBase):
    """A body that fails the test if anything reads it."""

    def readable(self):
        return True

    def readinto(self, buffer):
        raise AssertionError("the body was read")


def _post_unread(app, path, content_type, length) -> Response:
    """A POST that declares `length` bytes and fails the test if any is read."""
    environ = EnvironBuilder(path=path, method="POST", content_type=content_type).get_environ()
    environ.update({"CONTENT_LENGTH": str(length), "wsgi.input": UnreadableBody()})
    return Response.from_app(app, environ, buffered=True)


@pytest.fixture
def item(app):
    with app.app_context():
        slug = factories.product(title="写作课").slug
        db.session.commit()
        return slug


def test_a_large_api_body_is_refused_from_its_length_unread(app, client, item):
    length = app.config["API_MAX_BODY_BYTES"] + 1
    response = _post_unread(app, "/api/orders", "application/json", length)
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "too_large"


def test_an_api_body_under_the_limit_but_padded_past_it_is_refused(client, item):
    padded = json.dumps({"product": item, "channel": "native", "note": "字" * 5000})
    response = client.post("/api/orders", data=padded, content_type="application/json")
    assert response.status_code == 413


@pytest.mark.parametrize("path", ["/api/orders", "/api/tips", "/sandbox/pay/jsapi/check"])
def test_deeply_nested_json_is_a_bad_request(client, item, path):
    nested = "[" * 3000 + "]" * 3000  # past Python's recursion limit, under the size limit
    response = client.post(path, data=nested, content_type="application/json")
    assert 400 <= response.status_code < 500
    if path.startswith("/api/"):
        assert response.get_json()["error"]["code"] == "bad_json"


def test_a_large_reader_form_is_refused_before_csrf_reads_it(app, client, item):
    page = client.get(f"/p/{item}/tip").get_data(as_text=True)
    response = client.post(
        f"/p/{item}/tip",
        data={"csrf_token": csrf_token_in(page), "message": "留言" * 40_000, "preset_fen": "500"},
    )
    assert response.status_code == 413
    assert "提交的内容太大了" in response.get_data(as_text=True)
    form = "application/x-www-form-urlencoded"
    unread = _post_unread(app, f"/p/{item}/tip", form, app.config["FORM_MAX_BODY_BYTES"] + 1)
    assert unread.status_code == 413


def test_the_creator_still_uploads_large_files_and_nobody_else_posts_them(app, studio):
    with app.app_context():
        kit = factories.product(ProductKind.DOWNLOAD, title="资料包")
        db.session.commit()
        edit = f"/studio/products/{kit.id}"
    big = b"x" * (app.config["FORM_MAX_BODY_BYTES"] * 4)
    token = csrf_token_in(studio.get(edit).get_data(as_text=True))
    upload = {"csrf_token": token, "file": (io.BytesIO(big), "大文件.csv")}
    assert studio.post(f"{edit}/files", data=upload).status_code == 302

    stranger = app.test_client()
    refused = stranger.post(f"{edit}/files", data={"file": (io.BytesIO(big), "大文件.csv")})
    assert refused.status_code == 413


def test_wechat_notifications_keep_their_own_limit(client):
    # Over the form limit: still answered in WeChat's XML (FAIL), never a bare 413.
    response = client.post("/pay/wechat/notify", data=b"<xml>" + b"a" * 100_000 + b"</xml>")
    assert response.status_code == 200
    assert b"FAIL" in response.data
