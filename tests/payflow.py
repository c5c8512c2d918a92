"""Driving a payment the way readers do, shared by the purchase and the tip tests."""

import json
import re

import sqlalchemy as sa

from app.extensions import db
from app.models import Order
from app.sandbox.notify import deliver_due_notifications
from tests.conftest import path_of

DESKTOP_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"
PHONE_UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148 Safari/604.1"


def csrf_token_in(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def latest_order(app, out_trade_no=None) -> Order:
    """The newest order (or the one named), detached so tests can read it freely."""
    with app.app_context():
        query = sa.select(Order).order_by(Order.id.desc())
        if out_trade_no:
            query = query.where(Order.out_trade_no == out_trade_no)
        order = db.session.scalar(query)
        db.session.expunge(order)
        return order


def pay_on_phone(app, url, nickname="扫码的人", decision="pay"):
    """Another device opens the sandbox's cashier page and presses 支付."""
    phone = app.test_client()
    page = phone.get(path_of(url))
    assert page.status_code == 200, page.get_data(as_text=True)
    response = phone.post(
        path_of(url),
        data={
            "csrf_token": csrf_token_in(page.get_data(as_text=True)),
            "decision": decision,
            "new_nickname": nickname,
        },
    )
    assert response.status_code in (200, 302)
    return response


def jsapi_parameters(page: str) -> dict:
    """What the pay page hands WeixinJSBridge, as the page embeds it."""
    return json.loads(re.search(r'id="jsapi-params">(.*?)</script>', page).group(1))


def send_tip_form(client, path, **form):
    """Open the tip form at `path` and send it with these fields (the form's token kept)."""
    page = client.get(path).get_data(as_text=True)
    token = re.search(r'name="request_token" value="([^"]+)"', page).group(1)
    data = {"csrf_token": csrf_token_in(page), "request_token": token, **form}
    return client.post(path, data=data)


def tip_and_pay(app, client, path, name="小王", **form):
    """Tip from a desktop, signed with `name`, and pay by scanning with a phone."""
    response = send_tip_form(client, path, name=name, **form)
    assert response.status_code == 302, response.get_data(as_text=True)
    order = latest_order(app)
    pay_on_phone(app, order.code_url)
    deliver_due_notifications(app)
    return latest_order(app, order.out_trade_no)
