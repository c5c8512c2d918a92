"""POST /api/tips: a tip through the JSON API, answered like POST /api/orders."""

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Entitlement, Order, Tip
from app.sandbox.notify import deliver_due_notifications
from tests import factories
from tests.conftest import WECHAT_UA, WeChatSignIn
from tests.payflow import pay_on_phone


@pytest.fixture
def slugs(app):
    with app.app_context():
        paid = factories.product(title="付费课", price_fen=4900)
        free = factories.product(title="免费文", price_fen=0, body_md="公开")
        draft = factories.product(title="草稿", published=False)
        db.session.commit()
        return {"paid": paid.slug, "free": free.slug, "draft": draft.slug}


def _tip(client, **payload):
    body = {"target": "creator", "amount_fen": 500, "channel": "native", **payload}
    return client.post("/api/tips", json=body)


def test_a_native_tip_is_paid_and_readable_through_the_orders_api(app, client, slugs):
    response = _tip(client, target=slugs["paid"], amount_fen=888, message="谢谢", anonymous=True)
    assert response.status_code == 201
    body = response.get_json()
    assert body["kind"] == "tip" and body["status"] == "pending" and body["amount_fen"] == 888
    assert body["code_url"] and body["qr_url"].endswith(f"/orders/{body['out_trade_no']}/qr.png")
    assert body["pay_url"].endswith(f"/orders/{body['out_trade_no']}")

    pay_on_phone(app, body["code_url"])
    deliver_due_notifications(app)
    paid = client.get(f"/api/orders/{body['out_trade_no']}").get_json()
    assert paid["status"] == "paid" and paid["kind"] == "tip"
    assert paid["next"] == f"/orders/{body['out_trade_no']}"
    with app.app_context():
        tip = db.session.scalar(sa.select(Tip))
        assert tip.message == "谢谢" and tip.is_anonymous is True
        assert db.session.scalar(sa.select(sa.func.count(Entitlement.id))) == 0


def test_h5_and_jsapi_tips(client, slugs):
    h5 = _tip(client, channel="h5", target=slugs["free"]).get_json()
    assert h5["mweb_url"]
    refused = _tip(client, channel="jsapi")
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "openid_required"

    client.environ_base["HTTP_USER_AGENT"] = WECHAT_UA
    WeChatSignIn(client).sign_in(nickname="微信读者")
    jsapi = _tip(client, channel="jsapi").get_json()
    assert jsapi["jsapi"]["package"].startswith("prepay_id=")


def test_each_call_is_a_new_tip(app, client, slugs):
    first = _tip(client).get_json()["out_trade_no"]
    second = _tip(client).get_json()["out_trade_no"]
    assert first != second
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Order.id))) == 2


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({"amount_fen": 0}, 400, "amount_too_small"),
        ({"amount_fen": -100}, 400, "amount_too_small"),
        ({"amount_fen": "500"}, 400, "bad_amount"),
        ({"amount_fen": 5.5}, 400, "bad_amount"),
        ({"amount_fen": True}, 400, "bad_amount"),
        ({"amount_fen": None}, 400, "bad_amount"),
        ({"amount_fen": 50001}, 400, "amount_too_large"),
        ({"message": "字" * 101}, 400, "message_too_long"),
        ({"message": 12}, 400, "bad_message"),
        ({"name": "名" * 21}, 400, "name_too_long"),
        ({"anonymous": "yes"}, 400, "bad_anonymous"),
        ({"channel": "alipay"}, 400, "bad_channel"),
        ({"target": "nope"}, 404, "not_found"),
        ({"target": None}, 404, "not_found"),
    ],
)
def test_bad_tips_get_a_code_and_a_chinese_message(app, client, slugs, payload, status, code):
    response = _tip(client, **payload)
    assert response.status_code == status
    error = response.get_json()["error"]
    assert error["code"] == code
    assert any("\u4e00" <= ch <= "\u9fff" for ch in error["message"])
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Order.id))) == 0


def test_drafts_take_no_tips(client, slugs):
    assert _tip(client, target=slugs["draft"]).status_code == 404


def test_the_limits_are_the_shops(app, client, slugs):
    from app.payments import tips

    with app.app_context():
        tips.save_settings([100], 1000, "谢谢", show_amounts=True)
        db.session.commit()
    assert _tip(client, amount_fen=1000).status_code == 201
    too_much = _tip(client, amount_fen=1001).get_json()["error"]
    assert too_much["code"] == "amount_too_large" and "¥10" in too_much["message"]


def test_someone_elses_tip_is_not_found(app, client, slugs):
    out_trade_no = _tip(client).get_json()["out_trade_no"]
    assert app.test_client().get(f"/api/orders/{out_trade_no}").status_code == 404
