"""The 公众号's messages after a payment, sent through wechatpy to the sandbox: a template
message to a follower, a customer-service message within 48 hours, nothing otherwise; and
each of WeChat's answers turned into the row's outcome."""

import re
from datetime import timedelta, timezone

import sqlalchemy as sa

from app.extensions import db
from app.models import MessageChannel, MessageStatus, Order, WeChatFollower
from app.models.base import utcnow
from app.sandbox import message_api
from app.sandbox import official_account as sandbox_oa
from app.sandbox.models import SandboxApiToken
from app.wechat import outbox
from tests.wechat.messaging import (
    CREATOR_TEMPLATE,
    PURCHASE_TEMPLATE,
    TIP_TEMPLATE,
    callback,
    follows,
    make_due,
    outbox_row,
    paid_purchase,
    paid_tip,
    sandbox_got,
    use_templates,
    wechat_user,
    writes,
)

BEIJING_MINUTE = re.compile(r"20[0-9]{2}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}")


def _send(app):
    with app.app_context():
        return outbox.send_due()


def test_a_follower_gets_the_template_message_exactly_as_mapped(app):
    reader = wechat_user(app)
    follows(app, reader)
    use_templates(app, purchase=PURCHASE_TEMPLATE)
    out_trade_no = paid_purchase(app, reader, title="写作课", price_fen=1990)

    assert _send(app).count(MessageStatus.SENT) == 1
    [(sent, body)] = sandbox_got(app)
    data = body.pop("data")
    assert body == {
        "touser": reader,
        "template_id": PURCHASE_TEMPLATE,
        "url": body["url"],
    }
    assert re.fullmatch(r"http://localhost/p/item-[0-9]+", body["url"])
    assert set(data) == {"thing1", "amount2", "time3", "character_string4"}  # no first/remark
    assert data["thing1"] == {"value": "写作课"}
    assert data["amount2"] == {"value": "¥19.90"}
    assert BEIJING_MINUTE.fullmatch(data["time3"]["value"])
    assert data["character_string4"] == {"value": out_trade_no}
    assert "写作课".encode() in sent.body and b"\\u" not in sent.body  # UTF-8 as it is

    row = outbox_row(app, out_trade_no)
    assert row.status is MessageStatus.SENT and row.channel is MessageChannel.TEMPLATE
    assert row.openid == reader and row.msgid and row.attempts == 1 and row.sent_at
    assert row.next_attempt_at is None


def test_the_paid_time_is_beijing_time(app):
    reader = wechat_user(app)
    follows(app, reader)
    use_templates(app, purchase=PURCHASE_TEMPLATE)
    paid_purchase(app, reader)
    _send(app)
    [(_, body)] = sandbox_got(app)
    with app.app_context():
        paid_at = db.session.scalar(sa.select(Order.paid_at))
    beijing = paid_at.astimezone(timezone(timedelta(hours=8)))
    assert body["data"]["time3"]["value"] == beijing.strftime("%Y-%m-%d %H:%M")


def test_a_long_title_is_cut_to_what_a_thing_key_takes(app):
    reader = wechat_user(app)
    follows(app, reader)
    use_templates(app, purchase=PURCHASE_TEMPLATE)
    paid_purchase(app, reader, title="一门很长很长的课程：从零开始学会写作与表达的全部方法")
    assert _send(app).count(MessageStatus.SENT) == 1  # the sandbox refuses > 20 (47003)
    [(_, body)] = sandbox_got(app)
    assert body["data"]["thing1"]["value"] == "一门很长很长的课程：从零开始学会写作与…"


def test_a_reader_who_wrote_within_48_hours_gets_a_customer_service_message(app):
    reader = wechat_user(app)
    writes(app, reader)  # wrote to the account; WeChat's user/info says not following
    use_templates(app, purchase=PURCHASE_TEMPLATE)
    out_trade_no = paid_purchase(app, reader, title="写作课")

    assert _send(app).count(MessageStatus.SENT) == 1
    [(sent, body)] = sandbox_got(app)
    assert sent.kind == "custom" and body["msgtype"] == "text" and body["touser"] == reader
    content = body["text"]["content"]
    assert "你已成功购买《写作课》，支付 ¥19.90。" in content
    assert re.search(r'<a href="http://localhost/p/item-[0-9]+">点这里开始阅读</a>', content)
    row = outbox_row(app, out_trade_no)
    assert row.status is MessageStatus.SENT and row.channel is MessageChannel.CUSTOM
    with app.app_context():  # what user/info said is remembered
        assert db.session.get(WeChatFollower, reader).subscribed is False


def test_without_a_template_a_follower_within_48_hours_gets_a_customer_service_message(app):
    reader = wechat_user(app)
    follows(app, reader)  # following opens the window too
    paid_purchase(app, reader)
    _send(app)
    [(sent, _)] = sandbox_got(app)
    assert sent.kind == "custom"


def test_nobody_reachable_is_skipped_with_the_reason(app):
    reader = wechat_user(app)
    use_templates(app, purchase=PURCHASE_TEMPLATE)
    out_trade_no = paid_purchase(app, reader)
    assert _send(app).count(MessageStatus.SKIPPED) == 2  # the buyer, and the creator (no openid)
    assert sandbox_got(app) == []
    row = outbox_row(app, out_trade_no)
    assert row.status is MessageStatus.SKIPPED and row.next_attempt_at is None
    assert row.errmsg == "未关注公众号，48 小时内也没有互动"
    creator = outbox_row(app, out_trade_no, "creator")
    assert "未设置创作者的 openid" in creator.errmsg


def test_a_window_older_than_48_hours_is_closed(app):
    reader = wechat_user(app)
    writes(app, reader)
    with app.app_context():
        long_ago = utcnow() - timedelta(hours=48, minutes=1)
        db.session.execute(sa.update(WeChatFollower).values(last_interaction_at=long_ago))
        db.session.commit()
    out_trade_no = paid_purchase(app, reader)
    _send(app)
    assert sandbox_got(app) == []
    assert outbox_row(app, out_trade_no).errmsg == "没有设置模板消息，48 小时内也没有互动"


def test_a_reader_without_a_wechat_identity_is_skipped(app):
    out_trade_no = paid_purchase(app, None)  # a guest, and a payment that named nobody
    _send(app)
    assert outbox_row(app, out_trade_no).errmsg == "读者没有微信身份（未用微信登录或支付）"


def test_a_reader_who_unfollowed_unseen_is_corrected_by_wechats_43004(app):
    """The shop believed they follow (the unfollow never reached the callback): WeChat says
    43004, the shop remembers it, and with no window left the message is skipped."""
    reader = wechat_user(app)
    with app.app_context():
        db.session.add(WeChatFollower(openid=reader, subscribed=True))
        db.session.commit()
    use_templates(app, purchase=PURCHASE_TEMPLATE)
    out_trade_no = paid_purchase(app, reader)
    _send(app)
    row = outbox_row(app, out_trade_no)
    assert row.status is MessageStatus.SKIPPED and row.channel is MessageChannel.TEMPLATE
    assert row.errmsg == "未关注公众号，48 小时内也没有互动"
    with app.app_context():
        assert db.session.get(WeChatFollower, reader).subscribed is False


def test_a_follower_who_turned_messages_off_is_skipped(app):
    reader = wechat_user(app)
    follows(app, reader)
    with app.app_context():
        sandbox_oa.refuse_messages(reader)
        db.session.commit()
    use_templates(app, purchase=PURCHASE_TEMPLATE)
    out_trade_no = paid_purchase(app, reader)
    _send(app)
    row = outbox_row(app, out_trade_no)
    assert (row.status, row.errcode) == (MessageStatus.SKIPPED, 43101)
    assert row.errmsg.startswith("对方拒收公众号的消息")


def test_a_customer_service_message_out_of_the_window_at_wechat_is_skipped(app):
    """The shop saw an interaction that WeChat does not count (45015): skipped, not retried."""
    reader = wechat_user(app)
    callback(app, reader, text="你好")  # the sandbox never heard of it
    out_trade_no = paid_purchase(app, reader)
    _send(app)
    row = outbox_row(app, out_trade_no)
    assert (row.status, row.errcode, row.channel) == (
        MessageStatus.SKIPPED,
        45015,
        MessageChannel.CUSTOM,
    )


def test_a_bad_template_id_fails_for_good(app):
    reader = wechat_user(app)
    follows(app, reader)
    use_templates(app, purchase="not-a-template-of-this-account")
    out_trade_no = paid_purchase(app, reader)
    assert _send(app).count(MessageStatus.FAILED) == 1
    row = outbox_row(app, out_trade_no)
    assert (row.status, row.errcode, row.next_attempt_at) == (MessageStatus.FAILED, 40037, None)
    assert row.errmsg.startswith("模板 ID 无效")


def test_an_openid_the_account_does_not_know_fails_for_good(app):
    use_templates(app, purchase=PURCHASE_TEMPLATE)
    out_trade_no = paid_purchase(app, "oSomeoneOfAnotherAccount00000")
    _send(app)
    row = outbox_row(app, out_trade_no)
    assert (row.status, row.errcode) == (MessageStatus.FAILED, 40003)  # asked by user/info


def test_wechat_busy_is_tried_again_later_with_backoff(app):
    reader = wechat_user(app)
    follows(app, reader)
    use_templates(app, purchase=PURCHASE_TEMPLATE)
    out_trade_no = paid_purchase(app, reader)
    with app.app_context():
        message_api.fail_next(-1, "system error")
    started = utcnow()

    assert _send(app).count(MessageStatus.RETRYING) == 1
    row = outbox_row(app, out_trade_no)
    assert (row.status, row.errcode, row.attempts) == (MessageStatus.RETRYING, -1, 1)
    assert (
        outbox.BACKOFF[0]
        <= row.next_attempt_at - started
        < outbox.BACKOFF[0] + timedelta(seconds=30)
    )
    assert _send(app).counts == {}  # not due yet: nothing is sent
    assert sandbox_got(app) == []

    make_due(app, out_trade_no)
    assert _send(app).count(MessageStatus.SENT) == 1
    row = outbox_row(app, out_trade_no)
    assert (row.status, row.attempts, row.errcode) == (MessageStatus.SENT, 2, None)
    assert len(sandbox_got(app)) == 1


def test_after_every_attempt_failed_it_gives_up(app):
    reader = wechat_user(app)
    follows(app, reader)
    use_templates(app, purchase=PURCHASE_TEMPLATE)
    out_trade_no = paid_purchase(app, reader)
    with app.app_context():
        message_api.fail_next(-1, "system error", times=outbox.MAX_ATTEMPTS)
    gaps = []
    for _ in range(outbox.MAX_ATTEMPTS):
        before = utcnow()
        _send(app)
        row = outbox_row(app, out_trade_no)
        if row.status is MessageStatus.RETRYING:
            gaps.append(row.next_attempt_at - before)
            make_due(app, out_trade_no)
    assert [round(gap / timedelta(minutes=1)) for gap in gaps] == [1, 5, 30, 120]
    row = outbox_row(app, out_trade_no)
    assert (row.status, row.attempts, row.next_attempt_at) == (
        MessageStatus.FAILED,
        outbox.MAX_ATTEMPTS,
        None,
    )
    assert row.errmsg.endswith(f"已尝试 {outbox.MAX_ATTEMPTS} 次，不再重试")


def test_an_expired_token_is_refreshed_once_and_the_message_sent(app):
    reader = wechat_user(app)
    follows(app, reader)
    use_templates(app, purchase=PURCHASE_TEMPLATE)
    paid_purchase(app, reader)
    with app.app_context():
        from app.wechat.official_account import ShopWeChatClient

        _ = ShopWeChatClient(app).access_token  # the shop holds a token it thinks good
        db.session.execute(sa.update(SandboxApiToken).values(expires_at=utcnow()))  # 42001
        db.session.commit()
    assert _send(app).count(MessageStatus.SENT) == 1
    with app.app_context():
        assert sandbox_oa.tokens_issued() == 2


def test_a_token_refused_again_after_its_refresh_waits_for_the_next_attempt(app):
    reader = wechat_user(app)
    follows(app, reader)
    use_templates(app, purchase=PURCHASE_TEMPLATE)
    out_trade_no = paid_purchase(app, reader)
    with app.app_context():
        message_api.fail_next(40001, "invalid credential", times=2)
    _send(app)
    row = outbox_row(app, out_trade_no)
    assert (row.status, row.errcode) == (MessageStatus.RETRYING, 40001)
    with app.app_context():
        assert sandbox_oa.tokens_issued() == 2  # the first, and one refresh: not a loop


# --- the creator's notice -----------------------------------------------------------------------


def test_the_creator_gets_a_template_notice_of_each_tip(app):
    creator, reader = wechat_user(app, "作者"), wechat_user(app)
    follows(app, creator)
    follows(app, reader)
    use_templates(app, creator, tip=TIP_TEMPLATE, creator=CREATOR_TEMPLATE)
    out_trade_no = paid_tip(app, reader, name="小红", message="写得真好")

    assert _send(app).count(MessageStatus.SENT) == 2
    sent = {body["touser"]: body for _, body in sandbox_got(app)}
    notice = sent[creator]
    assert notice["template_id"] == CREATOR_TEMPLATE
    assert notice["url"] == f"http://localhost/studio/tips#tip-{out_trade_no}"
    assert {key: value["value"] for key, value in notice["data"].items()} == {
        "thing1": "写作课",
        "amount2": "¥6.66",
        "time3": notice["data"]["time3"]["value"],
        "character_string4": out_trade_no,
        "thing5": "小红",
        "phrase6": "赞赏",
    }
    thanks = sent[reader]
    assert thanks["template_id"] == TIP_TEMPLATE and thanks["data"]["amount2"]["value"] == "¥6.66"
    assert outbox_row(app, out_trade_no, "creator").status is MessageStatus.SENT


def test_the_creators_notice_as_a_customer_service_message(app):
    creator = wechat_user(app, "作者")
    writes(app, creator)
    use_templates(app, creator)
    out_trade_no = paid_purchase(app, None, title="写作课")
    _send(app)
    [(_, body)] = sandbox_got(app)
    assert body["touser"] == creator
    content = body["text"]["content"]
    assert content.startswith("新订单：小明 购买了《写作课》，¥19.90（")
    assert f'<a href="http://localhost/studio/orders/{out_trade_no}">查看订单</a>' in content


def test_an_anonymous_tippers_message_cannot_add_a_link_to_the_creators_notice(app):
    creator = wechat_user(app, "作者")
    writes(app, creator)
    use_templates(app, creator)
    paid_tip(app, None, anonymous=True, message='<a href="https://evil.example">点我</a>')
    _send(app)
    [(_, body)] = sandbox_got(app)
    content = body["text"]["content"]
    assert content.startswith("新赞赏：匿名读者 赞赏了《写作课》，¥6.66（")
    assert "evil.example" in content and '<a href="https://evil' not in content
    assert content.count("<a href=") == 1
