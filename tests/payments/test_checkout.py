"""Buying end to end through the sandbox: the shop's real wechatpy code, no mocks.

Each flow is driven the way readers do it: a desktop scanning with a phone (Native), a
reader inside WeChat (JSAPI), a phone browser handed to WeChat's cashier (H5).
"""

import json
import re
from contextlib import contextmanager
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import flask
import sqlalchemy as sa

from app.catalog import queries
from app.extensions import db
from app.models import Entitlement, Order, OrderStatus, PaymentEvent, Reader
from app.models.base import utcnow
from app.payments import orders as order_service
from app.payments import reconcile
from app.sandbox.notify import deliver_due_notifications
from tests import factories
from tests.conftest import WECHAT_UA, WeChatSignIn, path_of, sign_in_as
from tests.payflow import DESKTOP_UA, PHONE_UA
from tests.payflow import csrf_token_in as _token
from tests.payflow import latest_order as _order
from tests.payflow import pay_on_phone as _pay_on_phone


def _buy(client, slug, **form):
    page = client.get(f"/p/{slug}/buy").get_data(as_text=True)
    shown = re.search(r'name="price_fen" value="(\d+)"', page).group(1)
    return client.post(
        f"/p/{slug}/buy", data={"csrf_token": _token(page), "price_fen": shown, **form}
    )


def _read(client, slug) -> str:
    return client.get(f"/p/{slug}/read").get_data(as_text=True)


def test_desktop_native_flow_pays_by_qr_and_binds_the_payer(app, article):
    desktop = app.test_client()
    desktop.environ_base["HTTP_USER_AGENT"] = DESKTOP_UA
    assert "微信扫码支付" in desktop.get(f"/p/{article}/buy").get_data(as_text=True)
    response = _buy(desktop, article)
    assert response.status_code == 302
    order = _order(app)
    assert response.location.endswith(f"/orders/{order.out_trade_no}")
    assert order.channel.value == "native" and order.amount_fen == 1990

    page = desktop.get(f"/orders/{order.out_trade_no}").get_data(as_text=True)
    assert "微信扫码支付" in page and "¥19.90" in page and "我已支付" in page
    png = desktop.get(f"/orders/{order.out_trade_no}/qr.png")
    assert png.status_code == 200 and png.data.startswith(b"\x89PNG")
    assert desktop.get(f"/orders/{order.out_trade_no}/qr.svg").mimetype == "image/svg+xml"
    assert "/sandbox/pay/scan/" in order.code_url

    _pay_on_phone(app, order.code_url, nickname="小王")
    assert deliver_due_notifications(app) == 1
    status = desktop.get(f"/orders/{order.out_trade_no}/status").get_json()
    assert status["status"] == "paid"
    assert status["next"] == f"/p/{article}/read"
    assert factories.PAID_SECRET in _read(desktop, article)  # the desktop keeps access

    # Later, 小王 opens the shop inside WeChat: the purchase is in 已购.
    with app.app_context():
        payer_openid = db.session.get(Order, order.id).payer_openid
    phone = app.test_client()
    phone.environ_base["HTTP_USER_AGENT"] = WECHAT_UA
    WeChatSignIn(phone).sign_in(openid=payer_openid)
    assert "写作课" in phone.get("/library").get_data(as_text=True)
    assert factories.PAID_SECRET in _read(phone, article)


def test_double_clicks_reuse_the_open_order(app, article):
    desktop = app.test_client()
    desktop.environ_base["HTTP_USER_AGENT"] = DESKTOP_UA
    first = _buy(desktop, article).location
    second = _buy(desktop, article).location
    assert first == second
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Order.id))) == 1


def test_wechat_jsapi_flow(app, article):
    phone = app.test_client()
    phone.environ_base["HTTP_USER_AGENT"] = WECHAT_UA
    phone.get("/")  # the silent sign-in is offered ...
    WeChatSignIn(phone).sign_in(nickname="微信里的读者")  # ... and completed
    response = _buy(phone, article)
    order = _order(app)
    assert order.channel.value == "jsapi"

    page = phone.get(response.location).get_data(as_text=True)
    assert "确认支付" in page and "/sandbox/pay/jsbridge.js" in page
    params = json.loads(re.search(r'id="jsapi-params">(.*?)</script>', page).group(1))
    assert params["package"].startswith("prepay_id=") and params["signType"] == "MD5"

    # What the WeixinJSBridge stand-in sends when the reader presses 支付 on its sheet.
    confirm = phone.post("/sandbox/pay/jsapi/pay", json=params).get_json()
    assert confirm["ok"] is True
    deliver_due_notifications(app)
    assert _order(app, order.out_trade_no).status is OrderStatus.PAID
    assert factories.PAID_SECRET in _read(phone, article)


def test_a_forged_jsapi_signature_pays_nothing(app, article):
    phone = app.test_client()
    phone.environ_base["HTTP_USER_AGENT"] = WECHAT_UA
    WeChatSignIn(phone).sign_in(nickname="读者")
    page = phone.get(_buy(phone, article).location).get_data(as_text=True)
    params = json.loads(re.search(r'id="jsapi-params">(.*?)</script>', page).group(1))
    params["paySign"] = "0" * 32
    assert phone.post("/sandbox/pay/jsapi/pay", json=params).get_json()["ok"] is False
    deliver_due_notifications(app)
    assert _order(app).status is OrderStatus.PENDING


def test_jsapi_needs_the_wechat_identity_first(app, article):
    phone = app.test_client()
    phone.environ_base["HTTP_USER_AGENT"] = WECHAT_UA
    with phone.session_transaction() as session:
        session["wechat_oauth_tried"] = True  # the reader refused the silent sign-in
    page = phone.get(f"/p/{article}/buy").get_data(as_text=True)
    assert "微信授权后支付" in page


def test_h5_flow_goes_to_the_cashier_and_comes_back(app, article):
    phone = app.test_client()
    phone.environ_base["HTTP_USER_AGENT"] = PHONE_UA
    response = _buy(phone, article)
    order = _order(app)
    assert order.channel.value == "h5"
    cashier = response.location
    back = parse_qs(urlsplit(cashier).query)["redirect_url"][0]
    assert back.endswith(f"/orders/{order.out_trade_no}")

    returned = _pay_on_phone(app, cashier, nickname="手机用户")
    assert returned.status_code == 302 and returned.location == back
    deliver_due_notifications(app)
    page = phone.get(path_of(back)).get_data(as_text=True)
    assert "支付成功" in page


def test_a_lost_notification_is_made_up_for_by_querying(app, article):
    desktop = app.test_client()
    desktop.environ_base["HTTP_USER_AGENT"] = DESKTOP_UA
    _buy(desktop, article)
    order = _order(app)
    _pay_on_phone(app, order.code_url)  # paid at WeChat; the notification never arrives

    status = desktop.get(f"/orders/{order.out_trade_no}/status").get_json()
    assert status["status"] == "paid"
    with app.app_context():
        sources = db.session.scalars(
            sa.select(PaymentEvent.detail).where(PaymentEvent.kind == "paid")
        ).all()
        assert [s["source"] for s in sources] == ["query"]
    # The late notification is then a harmless duplicate.
    deliver_due_notifications(app)
    assert _order(app, order.out_trade_no).status is OrderStatus.PAID


def test_queries_are_rate_limited_per_order(app, article):
    desktop = app.test_client()
    desktop.environ_base["HTTP_USER_AGENT"] = DESKTOP_UA
    _buy(desktop, article)
    order = _order(app)
    for _ in range(5):
        desktop.get(f"/orders/{order.out_trade_no}/status")
    with app.app_context():
        queried = db.session.scalar(
            sa.select(sa.func.count(PaymentEvent.id)).where(PaymentEvent.kind == "queried")
        )
    assert queried == 1


@contextmanager
def _queries_at_wechat(app):
    """The order queries the sandbox receives (the shop's real wechatpy calls, in process)."""
    seen = []

    def count(sender, **extra):
        if flask.request.path.endswith("/orderquery"):
            seen.append(flask.request.path)

    flask.request_started.connect(count, app)
    try:
        yield seen
    finally:
        flask.request_started.disconnect(count, app)


def _shop_clock(monkeypatch, start):
    """Simulated time for the shop's pacing of queries (the sandbox keeps real time)."""
    clock = [start]
    monkeypatch.setattr(reconcile, "utcnow", lambda: clock[0])
    monkeypatch.setattr(order_service, "utcnow", lambda: clock[0])
    return clock


def _queried_events(app, out_trade_no):
    with app.app_context():
        return db.session.scalars(
            sa.select(PaymentEvent.detail)
            .join(Order)
            .where(Order.out_trade_no == out_trade_no, PaymentEvent.kind == "queried")
        ).all()


def test_an_hour_of_polling_every_second_costs_a_few_dozen_queries(app, article, monkeypatch):
    """A script (or a tab) asking every second: WeChat is asked less often as the order ages,
    and a NOTPAY that changes nothing is recorded once."""
    desktop = app.test_client()
    desktop.environ_base["HTTP_USER_AGENT"] = DESKTOP_UA
    _buy(desktop, article)
    order = _order(app)
    clock = _shop_clock(monkeypatch, order.created_at)
    with _queries_at_wechat(app) as queries:
        for second in range(3600):
            clock[0] = order.created_at + timedelta(seconds=second)
            assert desktop.get(f"/orders/{order.out_trade_no}/status").status_code == 200
    assert 20 <= len(queries) <= 50
    assert _queried_events(app, order.out_trade_no) == [{"trade_state": "NOTPAY"}]

    # What changes something is recorded: the payment, found by the next query.
    _pay_on_phone(app, order.code_url)
    clock[0] += timedelta(hours=1)
    assert desktop.get(f"/orders/{order.out_trade_no}/status").get_json()["status"] == "paid"
    states = [event["trade_state"] for event in _queried_events(app, order.out_trade_no)]
    assert states == ["NOTPAY", "SUCCESS"]


def test_i_have_paid_asks_at_once_unless_asked_seconds_ago(app, article, monkeypatch):
    desktop = app.test_client()
    desktop.environ_base["HTTP_USER_AGENT"] = DESKTOP_UA
    _buy(desktop, article)
    order = _order(app)
    clock = _shop_clock(monkeypatch, order.created_at + timedelta(minutes=30))
    page = desktop.get(f"/orders/{order.out_trade_no}").get_data(as_text=True)  # asks once
    clock[0] += timedelta(minutes=1)
    check = f"/orders/{order.out_trade_no}/check"
    with _queries_at_wechat(app) as queries:
        desktop.get(f"/orders/{order.out_trade_no}/status")  # 30 min old: not yet again
        assert len(queries) == 0
        desktop.post(check, data={"csrf_token": _token(page)})  # the reader says: now
        assert len(queries) == 1
        clock[0] += timedelta(seconds=2)
        desktop.post(check, data={"csrf_token": _token(page)})  # a second press, at once
        assert len(queries) == 1
        clock[0] += timedelta(seconds=10)
        desktop.post(check, data={"csrf_token": _token(page)})
        assert len(queries) == 2


def test_someone_elses_order_is_not_found(app, article):
    owner = app.test_client()
    _buy(owner, article)
    order = _order(app)
    stranger = app.test_client()
    for path in ("", "/status", "/qr.png"):
        assert stranger.get(f"/orders/{order.out_trade_no}{path}").status_code == 404
    assert stranger.get(f"/api/orders/{order.out_trade_no}").status_code == 404


def test_cancelling_closes_here_and_at_wechat(app, article):
    desktop = app.test_client()
    _buy(desktop, article)
    order = _order(app)
    page = desktop.get(f"/orders/{order.out_trade_no}").get_data(as_text=True)
    desktop.post(f"/orders/{order.out_trade_no}/cancel", data={"csrf_token": _token(page)})
    assert _order(app, order.out_trade_no).status is OrderStatus.CLOSED
    # The QR is dead too: the phone page refuses to pay a closed order.
    phone_page = app.test_client().get(path_of(order.code_url)).get_data(as_text=True)
    assert "订单已关闭" in phone_page and 'value="pay"' not in phone_page


def test_an_expired_order_shows_closed_and_reconcile_closes_it(app, runner, article):
    desktop = app.test_client()
    _buy(desktop, article)
    order = _order(app)
    with app.app_context():
        stored = db.session.get(Order, order.id)
        stored.expires_at = utcnow() - timedelta(minutes=1)
        stored.created_at = utcnow() - timedelta(hours=3)
        db.session.commit()
    assert desktop.get(f"/orders/{order.out_trade_no}/status").get_json()["status"] == "closed"
    assert "订单已关闭" in desktop.get(f"/orders/{order.out_trade_no}").get_data(as_text=True)

    result = runner.invoke(args=["orders", "reconcile"])
    assert result.exit_code == 0, result.output
    assert "已关闭 1" in result.output
    assert _order(app, order.out_trade_no).status is OrderStatus.CLOSED


def test_free_items_are_claimed_without_paying(app):
    with app.app_context():
        slug = factories.product(price_fen=0).slug
        db.session.commit()
    client = app.test_client()
    page = client.get(f"/p/{slug}/buy").get_data(as_text=True)
    assert "免费领取" in page
    client.post(f"/p/{slug}/buy", data={"csrf_token": _token(page)})
    assert "还没有已购内容" not in client.get("/library").get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Order.id))) == 0


def test_refund_through_the_cli_revokes_access(app, runner, article):
    desktop = app.test_client()
    _buy(desktop, article)
    order = _order(app)
    _pay_on_phone(app, order.code_url)
    deliver_due_notifications(app)

    partial = runner.invoke(args=["orders", "refund", order.out_trade_no, "--amount", "9.90"])
    assert partial.exit_code == 0, partial.output
    deliver_due_notifications(app)  # WeChat's refund notification
    after_partial = _order(app, order.out_trade_no)
    assert after_partial.status is OrderStatus.PARTIALLY_REFUNDED
    assert after_partial.refunded_fen == 990
    assert factories.PAID_SECRET in _read(desktop, article)

    too_much = runner.invoke(args=["orders", "refund", order.out_trade_no, "--amount", "10.01"])
    assert too_much.exit_code != 0

    rest = runner.invoke(args=["orders", "refund", order.out_trade_no, "--reason", "不想要了"])
    assert rest.exit_code == 0, rest.output
    deliver_due_notifications(app)
    assert _order(app, order.out_trade_no).status is OrderStatus.REFUNDED
    assert factories.PAID_SECRET not in _read(desktop, article)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Entitlement.id))) == 0
        assert db.session.scalar(sa.select(sa.func.count(Reader.id))) >= 1


def test_the_daily_bill_matches_and_reports_differences(app, runner, article):
    desktop = app.test_client()
    _buy(desktop, article)
    order = _order(app)
    _pay_on_phone(app, order.code_url)
    deliver_due_notifications(app)
    from zoneinfo import ZoneInfo

    today = utcnow().astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d")
    same = runner.invoke(args=["orders", "bill", "--date", today])
    assert same.exit_code == 0, same.output
    assert "对账一致" in same.output

    with app.app_context():
        db.session.get(Order, order.id).status = OrderStatus.CLOSED  # as if the shop lost it
        db.session.commit()
    different = runner.invoke(args=["orders", "bill", "--date", today])
    assert different.exit_code == 1
    assert order.out_trade_no in different.output and "本店订单未支付" in different.output


def test_switching_channel_closes_the_old_order_at_wechat_too(app, article):
    reader = app.test_client()
    reader.environ_base["HTTP_USER_AGENT"] = DESKTOP_UA
    _buy(reader, article)
    desktop_order = _order(app)
    reader.environ_base["HTTP_USER_AGENT"] = PHONE_UA
    _buy(reader, article)
    phone_order = _order(app)
    assert phone_order.out_trade_no != desktop_order.out_trade_no
    assert _order(app, desktop_order.out_trade_no).status is OrderStatus.CLOSED
    # The old QR is dead at WeChat too: no second payment for the same thing.
    phone_page = app.test_client().get(path_of(desktop_order.code_url)).get_data(as_text=True)
    assert 'value="pay"' not in phone_page


def test_switching_channel_within_five_minutes_keeps_the_first_order(app_factory):
    """WeChat will not close an order in its first five minutes: the reader is asked to
    finish the first payment, and there are never two payable orders."""
    app = app_factory(SANDBOX_CLOSE_MIN_AGE=300)
    with app.app_context():
        slug = factories.product(price_fen=1990).slug
        db.session.commit()
    reader = app.test_client()
    reader.environ_base["HTTP_USER_AGENT"] = DESKTOP_UA
    _buy(reader, slug)
    desktop_order = _order(app)
    reader.environ_base["HTTP_USER_AGENT"] = PHONE_UA
    response = _buy(reader, slug)
    assert response.status_code == 302 and response.location.endswith(f"/p/{slug}")
    assert "未完成的支付" in reader.get(f"/p/{slug}").get_data(as_text=True)
    assert _order(app).out_trade_no == desktop_order.out_trade_no
    assert _order(app).status is OrderStatus.PENDING

    # Cancelling is refused for the same reason, and the order stays payable and honest.
    page = reader.get(f"/orders/{desktop_order.out_trade_no}").get_data(as_text=True)
    reader.post(f"/orders/{desktop_order.out_trade_no}/cancel", data={"csrf_token": _token(page)})
    assert _order(app, desktop_order.out_trade_no).status is OrderStatus.PENDING


def _set_price(app, slug, price_fen):
    with app.app_context():
        queries.find_product(slug).price_fen = price_fen
        db.session.commit()


def test_after_a_price_change_the_reader_pays_the_new_price(app, article):
    reader = app.test_client()
    reader.environ_base["HTTP_USER_AGENT"] = DESKTOP_UA
    _buy(reader, article)
    old = _order(app)
    _set_price(app, article, 990)

    _buy(reader, article)
    new = _order(app)
    assert new.out_trade_no != old.out_trade_no and new.amount_fen == 990
    assert _order(app, old.out_trade_no).close_reason == "repriced"
    # The old QR is dead at WeChat too: the reader cannot pay the old price by mistake.
    old_qr = app.test_client().get(path_of(old.code_url)).get_data(as_text=True)
    assert 'value="pay"' not in old_qr
    _pay_on_phone(app, new.code_url)
    deliver_due_notifications(app)
    assert _order(app, new.out_trade_no).status is OrderStatus.PAID


def test_a_price_changed_while_the_confirm_page_was_open_is_shown_again(app, article):
    reader = app.test_client()
    reader.environ_base["HTTP_USER_AGENT"] = DESKTOP_UA
    page = reader.get(f"/p/{article}/buy").get_data(as_text=True)
    assert "¥19.90" in page
    _set_price(app, article, 2990)

    response = reader.post(
        f"/p/{article}/buy", data={"csrf_token": _token(page), "price_fen": "1990"}
    )
    assert response.status_code == 302 and response.location.endswith(f"/p/{article}/buy")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Order.id))) == 0
    again = reader.get(response.location).get_data(as_text=True)
    assert "价格刚刚调整了" in again and "¥29.90" in again

    _buy(reader, article)  # confirmed at the price now shown
    assert _order(app).amount_fen == 2990


def test_a_price_change_within_five_minutes_keeps_the_first_order(app_factory):
    """WeChat will not close the old order yet: never two payable orders, and the reader is
    told why, and that the first order is at the old price."""
    app = app_factory(SANDBOX_CLOSE_MIN_AGE=300)
    with app.app_context():
        slug = factories.product(price_fen=1990).slug
        db.session.commit()
    reader = app.test_client()
    reader.environ_base["HTTP_USER_AGENT"] = DESKTOP_UA
    _buy(reader, slug)
    first = _order(app)
    _set_price(app, slug, 990)

    response = _buy(reader, slug)
    assert response.status_code == 302 and response.location.endswith(f"/p/{slug}")
    assert "按原价" in reader.get(f"/p/{slug}").get_data(as_text=True)
    assert _order(app).out_trade_no == first.out_trade_no
    assert _order(app).status is OrderStatus.PENDING


def test_a_repriced_order_paid_at_wechat_meanwhile_is_not_lost(app, article):
    reader = app.test_client()
    reader.environ_base["HTTP_USER_AGENT"] = DESKTOP_UA
    _buy(reader, article)
    old = _order(app)
    _pay_on_phone(app, old.code_url)  # paid; the notification has not arrived yet
    _set_price(app, article, 990)

    response = _buy(reader, article)
    assert response.location.endswith(f"/p/{article}/read")  # WeChat said ORDERPAID
    assert _order(app, old.out_trade_no).status is OrderStatus.PAID
    assert _order(app).out_trade_no == old.out_trade_no  # no second order at the new price


def test_an_old_h5_link_is_renewed_before_the_reader_uses_it(app, article):
    phone = app.test_client()
    phone.environ_base["HTTP_USER_AGENT"] = PHONE_UA
    first_link = _buy(phone, article).location
    order = _order(app)
    with app.app_context():
        db.session.get(Order, order.id).prepay_at = utcnow() - timedelta(minutes=6)
        db.session.commit()
    # WeChat's link lived five minutes; coming back, the reader gets a working one.
    page = phone.get(f"/orders/{order.out_trade_no}").get_data(as_text=True)
    link = re.search(r'href="([^"]*/sandbox/pay/h5[^"]*)"', page).group(1).replace("&amp;", "&")
    assert _order(app).prepay_at > utcnow() - timedelta(minutes=1)
    assert "已过期" not in app.test_client().get(path_of(link)).get_data(as_text=True)
    assert first_link  # the first link was used at once and then went stale


def test_a_refund_wechat_never_received_is_sent_again_by_reconcile(app, runner, article):
    from app.transactions import begin_write

    desktop = app.test_client()
    _buy(desktop, article)
    order = _order(app)
    _pay_on_phone(app, order.code_url)
    deliver_due_notifications(app)
    with app.app_context():  # recorded, then the call to WeChat timed out
        begin_write()
        order_service.open_refund(order_service.find(order.out_trade_no), 1990, "")
        db.session.commit()

    result = runner.invoke(args=["orders", "reconcile"])
    assert result.exit_code == 0, result.output
    assert "退款重发 1" in result.output
    deliver_due_notifications(app)
    assert _order(app, order.out_trade_no).status is OrderStatus.REFUNDED


def test_queries_stay_limited_while_wechat_is_down(app_factory):
    app = app_factory(WECHAT_PAY_API_BASE="http://127.0.0.1:9/", WECHAT_HTTP_TIMEOUT=1)
    with app.app_context():
        reader = factories.reader()
        order = order_service.place_order(
            reader,
            factories.product(price_fen=1990),
            factories.PayChannel.NATIVE,
            "1.2.3.4",
            timedelta(hours=2),
        )
        db.session.commit()
        no, reader_id = order.out_trade_no, reader.id
    client = app.test_client()
    sign_in_as(app, client, reader_id)
    for _ in range(5):
        assert client.get(f"/orders/{no}/status").get_json()["status"] == "pending"
    with app.app_context():
        tries = db.session.scalar(
            sa.select(sa.func.count(PaymentEvent.id)).where(PaymentEvent.kind == "queried")
        )
    assert tries == 1
