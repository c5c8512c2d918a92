"""The studio's 通知 page: the template ids and their keys for each message (the studio's id
wins over the configuration's), the creator's openid, what was sent, and 重发."""

from flask import current_app

from app.models import MessageStatus
from app.wechat import message_settings
from tests.conftest import creator_client
from tests.payflow import csrf_token_in
from tests.wechat.messaging import (
    MEMBERSHIP_TEMPLATE,
    PURCHASE_TEMPLATE,
    callback,
    follows,
    outbox_row,
    paid_purchase,
    sandbox_got,
    use_templates,
    wechat_user,
)


def _post(client, path, form):
    page = client.get("/studio/messages").get_data(as_text=True)
    return client.post(path, data={"csrf_token": csrf_token_in(page), **form})


def _form(template_id="", rows_in=(), creator_openid="", message="purchase", **more):
    """The settings form as the page sends it: every message's id and rows of key and fact;
    `message` has the id and rows given."""
    form = {"creator_openid": creator_openid, **more}
    for name in message_settings.MESSAGES:
        form[f"{name}-template_id"] = template_id if name == message else ""
        rows = rows_in if name == message else ()
        form[f"{name}-key"] = [key for key, _ in rows] + ["", ""]
        form[f"{name}-fact"] = [fact for _, fact in rows] + ["", ""]
    return form


def _settings(app):
    with app.app_context():
        return message_settings.current(current_app.config)


def test_the_page_shows_each_message_with_its_default_keys(app, studio):
    page = studio.get("/studio/messages").get_data(as_text=True)
    for title in message_settings.MESSAGES.values():
        assert title in page
    assert 'name="purchase-key" value="thing1"' in page
    assert 'value="character_string4"' in page and 'name="creator-key" value="phrase6"' in page
    assert "公众号后台 → 广告与服务 → 模板消息" in page
    assert "还没有消息" in page


def test_template_ids_and_keys_are_saved(app, studio):
    rows = [("thing2", "item"), ("amount5", "amount"), ("time1", "paid_at")]
    response = _post(
        studio,
        "/studio/messages/settings",
        _form(PURCHASE_TEMPLATE, rows, creator_openid="oCreator00000000000000000001"),
    )
    assert response.status_code == 302
    settings = _settings(app)
    template = settings.templates["purchase"]
    assert template.template_id == PURCHASE_TEMPLATE and not template.from_config
    assert template.fields == {"thing2": "item", "amount5": "amount", "time1": "paid_at"}
    assert settings.templates["tip"] is None
    assert settings.creator_openid == "oCreator00000000000000000001"
    page = studio.get("/studio/messages").get_data(as_text=True)
    assert "通知设置已保存" in page and 'name="purchase-key" value="amount5"' in page


def test_what_wechat_would_not_show_or_take_is_refused_and_nothing_saved(app, studio):
    for rows, problem in (
        ([("first", "item")], "first 是旧模板的字段"),
        ([("remark", "message")], "remark 是旧模板的字段"),
        ([("amount2", "item")], "amount2 只能显示金额"),
        ([("time3", "buyer")], "time3 只能显示支付时间"),
        ([("商品", "item")], "不是模板的关键词"),
        ([("thing1", "item"), ("thing1", "shop")], "thing1 填了两次"),
        ([("thing1", "")], "请为 thing1 选择要显示的内容"),
    ):
        response = _post(studio, "/studio/messages/settings", _form(PURCHASE_TEMPLATE, rows))
        assert response.status_code == 400
        assert problem in response.get_data(as_text=True), problem
    response = _post(studio, "/studio/messages/settings", _form("模板 一"))
    assert response.status_code == 400 and "模板 ID 应为字母" in response.get_data(as_text=True)
    assert _settings(app).templates["purchase"] is None


def test_the_membership_reminder_offers_the_facts_of_a_pass(app, studio):
    page = studio.get("/studio/messages").get_data(as_text=True)
    assert "会员即将到期" in page and 'name="membership-key" value="time2"' in page
    assert "到期时间" in page
    for rows, problem in (
        ([("amount2", "item")], "amount2 的类型在这条消息里没有可显示的内容"),
        ([("time2", "item")], "time2 只能显示到期时间"),
        ([("thing1", "paid_at")], "请为 thing1 选择要显示的内容"),  # an order's fact
    ):
        form = _form(MEMBERSHIP_TEMPLATE, rows, message="membership")
        response = _post(studio, "/studio/messages/settings", form)
        assert response.status_code == 400
        assert problem in response.get_data(as_text=True), problem
    rows = [("thing3", "item"), ("date4", "ends_at"), ("phrase1", "status")]
    form = _form(MEMBERSHIP_TEMPLATE, rows, message="membership")
    assert _post(studio, "/studio/messages/settings", form).status_code == 302
    template = _settings(app).templates["membership"]
    assert template.template_id == MEMBERSHIP_TEMPLATE
    assert template.fields == dict(rows)


def test_the_studios_template_id_wins_over_the_configurations(app_factory):
    app = app_factory(WECHAT_TEMPLATE_PURCHASE="config-template-id")
    studio = creator_client(app)
    settings = _settings(app)
    assert settings.templates["purchase"].template_id == "config-template-id"
    assert settings.templates["purchase"].from_config
    assert settings.templates["purchase"].fields == message_settings.DEFAULT_FIELDS["purchase"]
    page = studio.get("/studio/messages").get_data(as_text=True)
    assert "留空则用配置 WECHAT_TEMPLATE_PURCHASE 中的模板" in page

    _post(studio, "/studio/messages/settings", _form(PURCHASE_TEMPLATE, [("thing1", "item")]))
    assert _settings(app).templates["purchase"].template_id == PURCHASE_TEMPLATE
    _post(studio, "/studio/messages/settings", _form("", [("thing1", "item")]))
    fallback = _settings(app).templates["purchase"]
    assert fallback.template_id == "config-template-id" and fallback.fields == {"thing1": "item"}


def test_the_creator_finds_their_openid_among_those_who_wrote_last(app, studio):
    callback(app, "oCreator00000000000000000001", text="我是作者")
    page = studio.get("/studio/messages").get_data(as_text=True)
    assert "oCreator00000000000000000001" in page and "设为我的" in page
    response = _post(
        studio, "/studio/messages/creator-openid", {"openid": "oCreator00000000000000000001"}
    )
    assert response.status_code == 302
    assert _settings(app).creator_openid == "oCreator00000000000000000001"


def test_recent_sends_show_their_outcome_and_a_failed_one_can_be_sent_again(app, studio):
    reader = wechat_user(app)
    follows(app, reader)
    use_templates(app, purchase="a-template-the-account-lacks")
    out_trade_no = paid_purchase(app, reader, title="写作课")
    runner = app.test_cli_runner()
    runner.invoke(args=["wechat", "messages", "send"])

    page = studio.get("/studio/messages").get_data(as_text=True)
    assert "发送失败" in page and "模板 ID 无效" in page and "购买《写作课》" in page
    assert "未设置创作者的 openid" in page and "重发" in page

    use_templates(app, purchase=PURCHASE_TEMPLATE)  # the creator fixes the id
    row = outbox_row(app, out_trade_no)
    response = _post(studio, f"/studio/messages/{row.id}/resend", {})
    assert response.status_code == 302
    assert outbox_row(app, out_trade_no).status is MessageStatus.SENT
    assert len(sandbox_got(app)) == 1
    page = studio.get("/studio/messages").get_data(as_text=True)
    assert "重发结果：已发送" in page

    response = _post(studio, f"/studio/messages/{row.id}/resend", {})  # sent: not again
    assert "这条消息已发送" in studio.get(response.location).get_data(as_text=True)
    assert len(sandbox_got(app)) == 1


def test_the_accounts_templates_are_read_from_wechat(app, studio):
    page = studio.get("/studio/messages/templates").get_data(as_text=True)
    assert "购买成功通知" in page and PURCHASE_TEMPLATE in page
    assert (
        "商品名称 <code>thing1</code>" in page and "订单编号 <code>character_string4</code>" in page
    )


def test_the_page_is_the_creators_only(client):
    assert client.get("/studio/messages").status_code == 302
    assert client.post("/studio/messages/1/resend").status_code in (302, 400)
