"""Shared by the tests of the 公众号's messages: paid orders, followers as WeChat tells the shop
of them (signed callback events) and as the sandbox knows them, and what the sandbox got."""

import hashlib
import itertools
import json
from datetime import timedelta

import sqlalchemy as sa

from app.extensions import db
from app.models import Order, OutboxMessage, PayChannel
from app.models.base import utcnow
from app.payments import orders, tips
from app.sandbox import oauth as sandbox_oauth
from app.sandbox import official_account as sandbox_oa
from app.sandbox.models import SandboxSentMessage
from app.wechat import message_settings
from tests import factories

PURCHASE_TEMPLATE = "sandbox-purchase-notice"
TIP_TEMPLATE = "sandbox-tip-notice"
CREATOR_TEMPLATE = "sandbox-new-order-notice"
MEMBERSHIP_TEMPLATE = "sandbox-membership-ending"
TTL = timedelta(hours=2)
_pushes = itertools.count()


def wechat_user(app, nickname="读者") -> str:
    """A test WeChat user the sandbox account knows; their openid."""
    with app.app_context():
        user = sandbox_oauth.create_user(nickname)
        db.session.commit()
        return user.openid


def callback(app, openid: str, *, event: str | None = None, text: str | None = None):
    """WeChat pushes an event or a message from this user to the shop's callback, signed."""
    token, timestamp, nonce = app.config["WECHAT_TOKEN"], "1700000000", "42"
    signature = hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()
    created = str(1700000000 + next(_pushes))  # events are told apart by sender and time
    fields = {"ToUserName": "gh_shop", "FromUserName": openid, "CreateTime": created}
    if event is not None:
        fields |= {"MsgType": "event", "Event": event}
    else:
        fields |= {"MsgType": "text", "Content": text, "MsgId": created}
    xml = "<xml>" + "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in fields.items()) + "</xml>"
    answer = app.test_client().post(
        "/wechat/callback",
        query_string={"signature": signature, "timestamp": timestamp, "nonce": nonce},
        data=xml.encode(),
    )
    assert answer.status_code == 200
    return answer


def follows(app, openid: str) -> None:
    """The user follows the account: the sandbox knows it, and WeChat tells the shop."""
    with app.app_context():
        sandbox_oa.set_following(openid, True)
        db.session.commit()
    callback(app, openid, event="subscribe")


def writes(app, openid: str, text="你好") -> None:
    """The user writes to the account (without following it, as far as the sandbox goes)."""
    with app.app_context():
        sandbox_oa.record_interaction(openid)
        db.session.commit()
    callback(app, openid, text=text)


def use_templates(app, creator_openid="", **template_ids) -> None:
    """The studio's settings: a template id per message (purchase, tip, creator, membership),
    default keys."""
    with app.app_context():
        message_settings.save(
            {
                name: message_settings.MessageInput(template_ids.get(name, ""), [])
                for name in message_settings.MESSAGES
            },
            creator_openid,
        )
        db.session.commit()


def paid_purchase(app, openid: str | None, *, title="写作课", price_fen=1990) -> str:
    """A reader bought an item and paid with WeChat (as `openid`); its out_trade_no."""
    with app.app_context():
        product = factories.product(title=title, price_fen=price_fen)
        reader = factories.reader(nickname="小明")
        order = orders.place_order(reader, product, PayChannel.NATIVE, "127.0.0.1", TTL)
        _pay(order, openid)
        return order.out_trade_no


def paid_tip(app, openid: str | None, *, message="写得真好", anonymous=False, name="小红") -> str:
    with app.app_context():
        product = factories.product(title="写作课")
        reader = factories.reader()
        request = tips.TipRequest(
            product=product,
            amount_fen=666,
            message=message,
            anonymous=anonymous,
            request_token=tips.new_request_token(),
            display_name=name,
        )
        order = tips.place_tip(reader, request, PayChannel.NATIVE, "127.0.0.1", TTL)
        _pay(order, openid)
        return order.out_trade_no


def _pay(order, openid) -> None:
    db.session.commit()
    orders.confirm_payment(
        order.out_trade_no,
        transaction_id="4200" + order.out_trade_no[-24:],
        amount_fen=order.amount_fen,
        payer_openid=openid,
        paid_at=utcnow(),
        source="test",
    )
    db.session.commit()


def outbox_row(app, out_trade_no: str, recipient="buyer") -> OutboxMessage:
    with app.app_context():
        row = db.session.scalar(
            sa.select(OutboxMessage)
            .join(OutboxMessage.order)
            .where(Order.out_trade_no == out_trade_no, OutboxMessage.recipient == recipient)
        )
        db.session.expunge(row)
        return row


def sandbox_got(app, kind: str | None = None) -> list[tuple[SandboxSentMessage, dict]]:
    """What the sandbox's 公众号 sent, oldest first: (the row, its JSON body)."""
    with app.app_context():
        query = sa.select(SandboxSentMessage).order_by(SandboxSentMessage.id)
        if kind:
            query = query.where(SandboxSentMessage.kind == kind)
        rows = list(db.session.scalars(query))
        for row in rows:
            db.session.expunge(row)
    return [(row, json.loads(row.body)) for row in rows]


def make_due(app, out_trade_no: str, recipient="buyer") -> None:
    """Time passes: the row's next attempt is due now."""
    with app.app_context():
        order_id = orders.find(out_trade_no).id
        db.session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.order_id == order_id, OutboxMessage.recipient == recipient)
            .values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
