"""The queue of the 公众号's messages: rows made with the payment, in its transaction; sent
after it, once, however many senders run; and the payment never the worse for anything
sending does."""

import re
import threading

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import MessageStatus, Order, OrderStatus, OutboxMessage, PayChannel
from app.models.base import utcnow
from app.payments import orders
from app.sandbox.models import SandboxPayNotification
from app.sandbox.notify import deliver_due_notifications, resend_latest_notification
from app.wechat import followers, message_delivery, outbox
from tests import factories
from tests.conftest import path_of
from tests.payflow import csrf_token_in, latest_order
from tests.payments.helpers import bought_and_paid
from tests.wechat.messaging import (
    PURCHASE_TEMPLATE,
    TTL,
    follows,
    outbox_row,
    paid_purchase,
    paid_tip,
    sandbox_got,
    use_templates,
    wechat_user,
)


def _rows(app) -> list[tuple[str, str, str, MessageStatus]]:
    with app.app_context():
        return [
            (row.order.out_trade_no, row.recipient.value, row.kind.value, row.status)
            for row in db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id))
        ]


def test_a_payment_queues_its_messages_in_its_own_transaction(app):
    with app.app_context():
        order = orders.place_order(
            factories.reader(), factories.product(), PayChannel.NATIVE, "127.0.0.1", TTL
        )
        db.session.commit()
        paid = dict(
            transaction_id="4200000000000000000000000001",
            amount_fen=order.amount_fen,
            payer_openid=None,
            paid_at=utcnow(),
            source="test",
        )
        assert orders.confirm_payment(order.out_trade_no, **paid)
        db.session.rollback()  # the payment's transaction fails after all
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0
        assert orders.find(order.out_trade_no).status is OrderStatus.PENDING

        assert orders.confirm_payment(order.out_trade_no, **paid)
        db.session.commit()
        out_trade_no = order.out_trade_no
    assert _rows(app) == [
        (out_trade_no, "buyer", "purchase", MessageStatus.QUEUED),
        (out_trade_no, "creator", "purchase", MessageStatus.QUEUED),
    ]


def test_a_tip_queues_tip_messages(app):
    out_trade_no = paid_tip(app, None)
    assert {(kind, recipient) for _, recipient, kind, _ in _rows(app)} == {
        ("tip", "buyer"),
        ("tip", "creator"),
    }
    assert {no for no, *_ in _rows(app)} == {out_trade_no}


def test_a_repeated_notification_queues_nothing_twice(app):
    out_trade_no, _, _ = bought_and_paid(app)
    assert resend_latest_notification(out_trade_no, app=app)  # WeChat sends it again
    assert len(_rows(app)) == 2
    with app.app_context(), pytest.raises(sa.exc.IntegrityError):
        order_id = orders.find(out_trade_no).id
        db.session.add(OutboxMessage(order_id=order_id, recipient="buyer", kind="purchase"))
        db.session.flush()  # the database itself says one per (order, recipient, kind)


def test_the_messages_go_out_right_after_the_notification_is_answered(app):
    """No command needed: the notify view sends them as its response closes."""
    reader = wechat_user(app, "扫码的人")
    follows(app, reader)
    use_templates(app, purchase=PURCHASE_TEMPLATE)
    with app.app_context():
        slug = factories.product(title="写作课").slug
        db.session.commit()
    desktop = app.test_client()
    page = desktop.get(f"/p/{slug}/buy").get_data(as_text=True)
    desktop.post(f"/p/{slug}/buy", data={"csrf_token": csrf_token_in(page)})
    order = latest_order(app)
    _pay_as(app, order.code_url, reader)
    deliver_due_notifications(app)

    [(_, body)] = sandbox_got(app)
    assert body["touser"] == reader and body["data"]["thing1"]["value"] == "写作课"
    assert outbox_row(app, order.out_trade_no).status is MessageStatus.SENT


def _pay_as(app, code_url, openid):
    """The sandbox user with this openid scans the QR code and pays."""
    phone = app.test_client()
    page = phone.get(path_of(code_url)).get_data(as_text=True)
    response = phone.post(
        path_of(code_url),
        data={"csrf_token": csrf_token_in(page), "decision": "pay", "openid": openid},
    )
    assert response.status_code in (200, 302)


def test_messages_nobody_can_receive_are_left_to_the_command_not_the_payments_path(app):
    """Most payments have nobody WeChat would take a message for now (no template, no recent
    interaction): the notification costs one read for them, and `send_due` settles them."""
    out_trade_no, _, _ = bought_and_paid(app)
    assert [status for *_, status in _rows(app)] == [MessageStatus.QUEUED] * 2
    assert outbox_row(app, out_trade_no).attempts == 0
    with app.app_context():
        assert outbox.send_due().count(MessageStatus.SKIPPED) == 2


def test_a_reader_who_followed_on_the_follower_page_gets_the_template_after_paying(app):
    """End to end through the sandbox: following on 扮演粉丝 reaches the shop's callback, which
    remembers it; paying as that user sends the template message with the notification."""
    use_templates(app, purchase=PURCHASE_TEMPLATE)
    phone = app.test_client()
    token = csrf_token_in(phone.get("/sandbox/follower").get_data(as_text=True))
    chosen = phone.post(
        "/sandbox/follower/user", data={"csrf_token": token, "new_nickname": "小红"}
    )
    openid = re.search(r"openid=([\w-]+)", chosen.location).group(1)
    followed = phone.post("/sandbox/follower/follow", data={"csrf_token": token, "openid": openid})
    assert followed.status_code == 302
    with app.app_context():
        assert followers.state(openid).subscribed is True  # the shop heard it

    out_trade_no, _ = _ordered_on_desktop(app)
    _pay_as(app, latest_order(app).code_url, openid)
    deliver_due_notifications(app)
    [(sent, body)] = sandbox_got(app)
    assert sent.kind == "template" and body["touser"] == openid
    assert body["data"]["character_string4"]["value"] == out_trade_no
    page = app.test_client().get("/sandbox/messages").get_data(as_text=True)
    assert "购买成功通知" in page and "小红" in page


def test_the_pay_page_that_finds_the_payment_sends_after_its_response(app):
    """The notification is late: the reader's pay page asks WeChat, finds the order paid,
    and the messages go out when that response closes."""
    reader = wechat_user(app, "扫码的人")
    follows(app, reader)
    use_templates(app, purchase=PURCHASE_TEMPLATE)
    out_trade_no, desktop = _ordered_on_desktop(app)
    _pay_as(app, latest_order(app).code_url, reader)  # the notification is not delivered

    response = desktop.get(f"/orders/{out_trade_no}/status")
    assert response.get_json()["status"] == "paid"
    assert sandbox_got(app) == []  # not before the response is done
    response.close()
    assert len(sandbox_got(app)) == 1


def _ordered_on_desktop(app):
    with app.app_context():
        slug = factories.product(title="写作课").slug
        db.session.commit()
    desktop = app.test_client()
    page = desktop.get(f"/p/{slug}/buy").get_data(as_text=True)
    desktop.post(f"/p/{slug}/buy", data={"csrf_token": csrf_token_in(page)})
    return latest_order(app).out_trade_no, desktop


def test_two_senders_at_once_send_each_message_once(app):
    readers = [wechat_user(app, f"读者{n}") for n in range(6)]
    for reader in readers:
        follows(app, reader)
    use_templates(app, purchase=PURCHASE_TEMPLATE)
    for reader in readers:
        paid_purchase(app, reader)
    start = threading.Barrier(2)
    reports = []

    def drain():
        with app.app_context():
            start.wait()
            reports.append(outbox.send_due())

    senders = [threading.Thread(target=drain) for _ in range(2)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()

    got = [body["touser"] for _, body in sandbox_got(app, "template")]
    assert sorted(got) == sorted(readers)  # each reader once
    assert sum(report.count(MessageStatus.SENT) for report in reports) == 6
    with app.app_context():
        attempts = db.session.scalars(
            sa.select(OutboxMessage.attempts).where(OutboxMessage.recipient == "buyer")
        ).all()
    assert attempts == [1] * 6


def test_a_held_lease_keeps_a_second_sender_off_the_row(app):
    reader = wechat_user(app)
    follows(app, reader)
    use_templates(app, purchase=PURCHASE_TEMPLATE)
    out_trade_no = paid_purchase(app, reader)
    with app.app_context():
        row_id = outbox_row(app, out_trade_no).id
        assert outbox._claim(row_id, manual=False) is not None  # a sender is on it
        assert outbox.send_due().counts.get(MessageStatus.SENT) in (None, 0)
        assert outbox.send_now(row_id) is None
    assert sandbox_got(app) == []


# --- the payment path never the worse -----------------------------------------------------------


def test_a_payment_goes_through_while_wechats_api_is_unreachable(app_factory):
    app = app_factory(WECHAT_API_BASE_URL="http://127.0.0.1:9")  # nothing listens there
    use_templates(app, purchase=PURCHASE_TEMPLATE)
    out_trade_no, _, _ = bought_and_paid(app)

    order = latest_order(app, out_trade_no)
    assert order.status is OrderStatus.PAID
    with app.app_context():
        note = db.session.scalar(sa.select(SandboxPayNotification))
        assert note.delivered_at is not None  # WeChat was answered SUCCESS
    row = outbox_row(app, out_trade_no)
    assert (row.status, row.attempts) == (MessageStatus.RETRYING, 1)
    assert row.errmsg == "连接微信失败"


def test_a_crash_while_sending_never_reaches_the_notification(app, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug in the sender")

    monkeypatch.setattr(message_delivery, "send", broken)
    reader = wechat_user(app, "扫码的人")
    follows(app, reader)
    out_trade_no, _ = _ordered_on_desktop(app)
    _pay_as(app, latest_order(app).code_url, reader)
    deliver_due_notifications(app)

    assert latest_order(app, out_trade_no).status is OrderStatus.PAID
    with app.app_context():
        assert db.session.scalar(sa.select(SandboxPayNotification.delivered_at)) is not None
    row = outbox_row(app, out_trade_no)
    assert row.status is MessageStatus.RETRYING and row.errmsg == "发送时出错（见日志）"


def test_the_commands_send_what_is_due(app):
    reader = wechat_user(app)
    follows(app, reader)
    use_templates(app, purchase=PURCHASE_TEMPLATE)
    paid_purchase(app, reader)
    result = app.test_cli_runner().invoke(args=["wechat", "messages", "send"])
    assert result.exit_code == 0, result.output
    assert "公众号消息：已发送 1 · 未发送 1 · 等待重试 0 · 发送失败 0" in result.output
    assert len(sandbox_got(app)) == 1

    paid_purchase(app, reader)
    result = app.test_cli_runner().invoke(args=["orders", "reconcile"])
    assert "公众号消息：已发送 1" in result.output
    assert len(sandbox_got(app)) == 2
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 2
