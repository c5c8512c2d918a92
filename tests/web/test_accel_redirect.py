"""Paid downloads through nginx's X-Accel-Redirect: the shop checks who may have the file and
names it, nginx sends the bytes. Off (the shop sends the file) unless X_ACCEL_REDIRECT_PREFIX
is set. The real nginx in front of the shop is in tests/deploy/test_nginx.py."""

from pathlib import Path
from urllib.parse import quote

import pytest

from app.extensions import db
from app.models import ProductFile, ProductKind
from tests import factories
from tests.conftest import sign_in_as

PREFIX = "/_uploads/"
FILE_SECRET = "资料文件里的付费内容"


@pytest.fixture
def accel_app(app_factory):
    return app_factory(X_ACCEL_REDIRECT_PREFIX=PREFIX)


def _shop(app, filename="清单 第一版.md"):
    with app.app_context():
        item = factories.product(ProductKind.DOWNLOAD, price_fen=1990, body_md="资料介绍")
        record = factories.attach_file(
            item, Path(app.config["UPLOAD_FOLDER"]), filename, content=FILE_SECRET
        )
        buyer = factories.reader(openid="o-buyer", nickname="买家")
        stranger = factories.reader(openid="o-stranger", nickname="路人")
        factories.give(buyer, item)
        db.session.commit()
        return {
            "url": f"/p/{item.slug}/files/{record.id}",
            "record_id": record.id,
            "stored_name": record.stored_name,
            "buyer": buyer.id,
            "stranger": stranger.id,
        }


def _get(app, reader_id, url, **headers):
    client = app.test_client()
    if reader_id is not None:
        sign_in_as(app, client, reader_id)
    return client.get(url, headers=headers)


def test_a_buyer_gets_the_header_and_no_body(accel_app):
    shop = _shop(accel_app)
    with _get(accel_app, shop["buyer"], shop["url"]) as response:
        assert response.status_code == 200
        assert response.headers["X-Accel-Redirect"] == f"{PREFIX}files/{shop['stored_name']}"
        assert response.get_data() == b""
        assert response.headers["Content-Length"] == "0"
        assert response.headers["Content-Type"] == "text/markdown; charset=utf-8"
        disposition = response.headers["Content-Disposition"]
        assert disposition.startswith("attachment;")
        assert f"filename*=UTF-8''{quote('清单 第一版.md')}" in disposition
        # What nginx keeps from this answer: the download stays private and unstored.
        assert response.headers["Cache-Control"] == "private, no-store"


def test_the_same_headers_as_when_the_shop_sends_the_file(app_factory):
    """Only the body and X-Accel-Redirect differ between the two ways of sending."""
    # Two processes of one shop (one database, one upload folder), configured both ways.
    plain, accel = app_factory(), app_factory(X_ACCEL_REDIRECT_PREFIX=PREFIX)
    shop = _shop(plain)
    answers = []
    for app in (plain, accel):
        with _get(app, shop["buyer"], shop["url"]) as response:
            answers.append((response.headers, response.get_data(as_text=True)))
    (sent, body), (redirected, empty) = answers
    assert "X-Accel-Redirect" not in sent
    assert body == FILE_SECRET and empty == ""
    for name in ("Content-Type", "Content-Disposition", "Cache-Control"):
        assert sent[name] == redirected[name], name


def test_a_range_request_is_left_to_nginx(accel_app):
    shop = _shop(accel_app)
    with _get(accel_app, shop["buyer"], shop["url"], Range="bytes=0-3") as response:
        assert response.status_code == 200
        assert "Content-Range" not in response.headers
        assert response.get_data() == b""


@pytest.mark.parametrize("visitor", [None, "stranger"])
def test_no_header_for_a_reader_who_has_not_bought(accel_app, visitor):
    shop = _shop(accel_app)
    with _get(accel_app, shop.get(visitor), shop["url"]) as response:
        assert response.status_code == 403
        assert "X-Accel-Redirect" not in response.headers
        assert FILE_SECRET not in response.get_data(as_text=True)


@pytest.mark.parametrize("stored_name", ["../secret_key", "../../etc/passwd", "/etc/passwd"])
def test_a_stored_name_cannot_leave_the_upload_folder(accel_app, stored_name):
    shop = _shop(accel_app)
    with accel_app.app_context():
        record = db.session.get(ProductFile, shop["record_id"])
        record.stored_name = stored_name
        db.session.commit()
    with _get(accel_app, shop["buyer"], shop["url"]) as response:
        assert response.status_code == 404
        assert "X-Accel-Redirect" not in response.headers


def test_a_missing_file_is_a_404_not_a_redirect(accel_app):
    shop = _shop(accel_app)
    (Path(accel_app.config["UPLOAD_FOLDER"]) / "files" / shop["stored_name"]).unlink()
    with _get(accel_app, shop["buyer"], shop["url"]) as response:
        assert response.status_code == 404
        assert "X-Accel-Redirect" not in response.headers
