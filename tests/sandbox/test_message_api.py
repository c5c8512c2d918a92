"""The sandbox's message endpoints through wechatpy's real WeChatClient, as WeChat answers:
what a template may carry, the 48-hour window and its count, user/info; and the page that
shows a developer what was sent."""

import json

import pytest
from wechatpy.exceptions import WeChatClientException

from app.extensions import db
from app.sandbox import oauth as sandbox_oauth
from app.sandbox import official_account as sandbox_oa
from app.sandbox.message_api import CUSTOM_PER_WINDOW, sent_messages
from app.wechat.official_account import ShopWeChatClient

TEMPLATE = "sandbox-purchase-notice"


@pytest.fixture
def follower(app):
    with app.app_context():
        openid = sandbox_oauth.create_user("小明").openid
        sandbox_oa.set_following(openid, True)
        db.session.commit()
    return openid


def _wechat(app) -> ShopWeChatClient:
    return ShopWeChatClient(app)


def _data(**values):
    return {key: {"value": value} for key, value in values.items()}


def test_a_template_message_is_kept_as_sent_and_keys_the_template_lacks_are_not_shown(
    app, follower
):
    data = _data(thing1="写作课", amount2="¥19.90", first="旧字段", remark="也是旧的")
    with app.app_context():
        answer = _wechat(app).message.send_template(follower, TEMPLATE, data, url="https://x.cn/")
        [sent] = sent_messages()
        assert answer["errcode"] == 0 and sent.msgid == answer["msgid"]
        assert json.loads(sent.body)["data"] == data
    page = app.test_client().get("/sandbox/messages").get_data(as_text=True)
    assert "购买成功通知" in page and "写作课" in page and "¥19.90" in page
    assert "旧字段（模板里没有这个关键词，微信不显示）" in page


@pytest.mark.parametrize(
    "values",
    [
        {"thing1": "二十一个字的内容名称二十一个字的内容名称啊"},
        {"amount2": "19.9 元钱"},
        {"time3": "昨天下午"},
        {"character_string4": "订单号"},
    ],
)
def test_a_value_its_key_type_does_not_take_is_refused(app, follower, values):
    with app.app_context(), pytest.raises(WeChatClientException) as refused:
        _wechat(app).message.send_template(follower, TEMPLATE, _data(**values))
    assert refused.value.errcode == 47003


def test_template_messages_go_to_followers_only(app, follower):
    with app.app_context():
        sandbox_oa.set_following(follower, False)
        db.session.commit()
        with pytest.raises(WeChatClientException) as refused:
            _wechat(app).message.send_template(follower, TEMPLATE, _data(thing1="课"))
    assert refused.value.errcode == 43004


def test_customer_service_messages_within_48_hours_and_20_of_them(app, follower):
    with app.app_context():
        wechat = _wechat(app)
        for _ in range(CUSTOM_PER_WINDOW):
            wechat.message.send_text(follower, "你好")
        with pytest.raises(WeChatClientException) as too_many:
            wechat.message.send_text(follower, "你好")
        assert too_many.value.errcode == 45047
        sandbox_oa.record_interaction(follower)  # they write again: a new window
        db.session.commit()
        wechat.message.send_text(follower, "又一条")
        sandbox_oa.set_following(follower, False)  # unfollowing ends the window
        db.session.commit()
        with pytest.raises(WeChatClientException) as closed:
            wechat.message.send_text(follower, "还在吗")
    assert closed.value.errcode == 45015


def test_user_info_says_who_follows(app, follower):
    with app.app_context():
        wechat = _wechat(app)
        assert wechat.user.get(follower)["subscribe"] == 1
        sandbox_oa.set_following(follower, False)
        db.session.commit()
        assert wechat.user.get(follower)["subscribe"] == 0
        with pytest.raises(WeChatClientException) as unknown:
            wechat.user.get("oNobody00000000000000000000")
    assert unknown.value.errcode == 40003
