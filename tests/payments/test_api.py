"""The JSON API: the contract for integrations and a future mini program."""

import pytest

from app.extensions import db
from app.sandbox.notify import deliver_due_notifications
from tests import factories
from tests.conftest import WECHAT_UA, WeChatSignIn, path_of


@pytest.fixture
def catalog(app):
    with app.app_context():
        paid = factories.product(title="付费课", price_fen=4900)
        free = factories.product(title="免费文", price_fen=0)
        factories.product(title="草稿", published=False)
        db.session.commit()
        return {"paid": paid.slug, "free": free.slug}


def test_products_lists_published_items(client, catalog):
    items = client.get("/api/products").get_json()["items"]
    assert {i["title"] for i in items} == {"付费课", "免费文"}
    paid = next(i for i in items if i["slug"] == catalog["paid"])
    assert paid["price_fen"] == 4900 and paid["type"] == "article" and paid["owned"] is False


def test_create_native_order(client, catalog):
    response = client.post("/api/orders", json={"product": catalog["paid"], "channel": "native"})
    assert response.status_code == 201
    body = response.get_json()
    assert len(body["out_trade_no"]) == 32
    assert body["amount_fen"] == 4900 and body["status"] == "pending"
    assert body["code_url"] and body["qr_url"].endswith(f"/orders/{body['out_trade_no']}/qr.png")
    assert body["expires_at"]

    same = client.post("/api/orders", json={"product": catalog["paid"], "channel": "native"})
    assert same.get_json()["out_trade_no"] == body["out_trade_no"]  # a retry, not a new order


def test_order_status_follows_payment(app, client, catalog):
    body = client.post(
        "/api/orders", json={"product": catalog["paid"], "channel": "native"}
    ).get_json()
    url = f"/api/orders/{body['out_trade_no']}"
    assert client.get(url).get_json()["status"] == "pending"

    phone = app.test_client()
    page = phone.get(path_of(body["code_url"])).get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    phone.post(
        path_of(body["code_url"]),
        data={"csrf_token": token, "decision": "pay", "new_nickname": "付款人"},
    )
    deliver_due_notifications(app)
    paid = client.get(url).get_json()
    assert paid["status"] == "paid" and paid["paid_at"]


def test_h5_and_jsapi_orders(app, client, catalog):
    h5 = client.post("/api/orders", json={"product": catalog["paid"], "channel": "h5"})
    assert h5.status_code == 201 and "/sandbox/pay/h5" in h5.get_json()["mweb_url"]

    refused = client.post("/api/orders", json={"product": catalog["paid"], "channel": "jsapi"})
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "openid_required"

    wechat = app.test_client()
    wechat.environ_base["HTTP_USER_AGENT"] = WECHAT_UA
    WeChatSignIn(wechat).sign_in(nickname="微信读者")
    jsapi = wechat.post("/api/orders", json={"product": catalog["paid"], "channel": "jsapi"})
    assert jsapi.status_code == 201
    params = jsapi.get_json()["jsapi"]
    assert set(params) == {"appId", "timeStamp", "nonceStr", "package", "signType", "paySign"}


def test_an_order_at_a_price_the_client_did_not_show_is_refused(client, catalog):
    order = {"product": catalog["paid"], "channel": "native"}
    stale = client.post("/api/orders", json={**order, "price_fen": 3900})
    assert stale.status_code == 409 and stale.get_json()["error"]["code"] == "price_changed"
    bad = client.post("/api/orders", json={**order, "price_fen": "49.00"})
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "bad_price"
    shown = client.post("/api/orders", json={**order, "price_fen": 4900})
    assert shown.status_code == 201 and shown.get_json()["amount_fen"] == 4900


def test_free_items_are_claimed(client, catalog):
    response = client.post("/api/orders", json={"product": catalog["free"], "channel": "h5"})
    assert response.status_code == 200 and response.get_json()["status"] == "claimed"
    owned = client.get("/api/products").get_json()["items"]
    assert next(i for i in owned if i["slug"] == catalog["free"])["owned"] is True


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({"product": "nope", "channel": "native"}, 404, "not_found"),
        ({"channel": "native"}, 400, "bad_request"),
        ({"product": "x", "channel": "alipay"}, 400, "bad_channel"),
        (["not", "an", "object"], 400, "bad_json"),
    ],
)
def test_bad_requests_get_a_code_and_a_chinese_message(client, catalog, payload, status, code):
    response = client.post("/api/orders", json=payload)
    assert response.status_code == status
    error = response.get_json()["error"]
    assert error["code"] == code
    assert any("\u4e00" <= ch <= "\u9fff" for ch in error["message"])


def test_only_json_bodies_are_accepted(client, catalog):
    # What a form on another site can send: refused, so no CSRF token is needed.
    response = client.post("/api/orders", data={"product": catalog["paid"], "channel": "native"})
    assert response.status_code == 415
    assert response.get_json()["error"]["code"] == "json_required"


def test_unknown_routes_under_api_answer_json(client):
    response = client.get("/api/nothing")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_the_api_is_rate_limited(app_factory):
    app = app_factory(RATELIMIT_ENABLED=True, API_RATE_LIMIT="3 per minute")
    client = app.test_client()
    statuses = [client.get("/api/products").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert client.get("/api/products").get_json()["error"]["code"] == "rate_limited"
