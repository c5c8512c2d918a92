"""赞赏 end to end through the sandbox: the form, the three channels, the wall, refunds.

The shop's real wechatpy code pays every tip; nothing is mocked.
"""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from app.catalog import queries
from app.extensions import db
from app.models import Entitlement, Order, OrderKind, OrderStatus, Tip
from app.payments import tips
from app.sandbox.notify import deliver_due_notifications
from tests import factories
from tests.conftest import WECHAT_UA, WeChatSignIn, path_of
from tests.payflow import (
    DESKTOP_UA,
    PHONE_UA,
    csrf_token_in,
    jsapi_parameters,
    latest_order,
    pay_on_phone,
    send_tip_form,
    tip_and_pay,
)


@pytest.fixture
def free_article(app):
    with app.app_context():
        item = factories.product(title="免费的文章", price_fen=0, body_md="人人可读")
        db.session.commit()
        return item.slug


def _client(app, agent=DESKTOP_UA):
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = agent
    return client


def _count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


# --- the button and the form --------------------------------------------------------------------


def test_every_page_offers_asend_tip_form(app, client, article):
    with app.app_context():
        course = factories.product(
            title="课程", sections=[("第一课", "正文", True)], body_md="介绍"
        )
        db.session.commit()
        course_slug = course.slug
    assert f"/p/{article}/tip" in client.get(f"/p/{article}").get_data(as_text=True)
    assert f"/p/{course_slug}/tip" in client.get(f"/p/{course_slug}/s/1").get_data(as_text=True)
    assert "/about/tip" in client.get("/about").get_data(as_text=True)


def test_the_form_offers_the_presets_and_the_limits(app, client, article):
    page = client.get(f"/p/{article}/tip").get_data(as_text=True)
    for label in ("¥2", "¥5", "¥10", "¥20", "¥50"):
        assert f"<span>{label}</span>" in page
    assert "¥500" in page and "写作课" in page and "匿名赞赏" in page

    with app.app_context():
        tips.save_settings([100, 666], 10000, "多谢", show_amounts=False)
        db.session.commit()
    page = client.get(f"/p/{article}/tip").get_data(as_text=True)
    assert "<span>¥6.66</span>" in page and "<span>¥5</span>" not in page and "¥100" in page


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"custom_yuan": "0"}, "赞赏金额至少 ¥0.01"),
        ({"custom_yuan": "-5"}, "金额不能为负数"),
        ({"custom_yuan": "abc"}, "请输入数字金额"),
        ({"custom_yuan": "500.01"}, "单次赞赏最多 ¥500"),
        ({"custom_yuan": "1.234"}, "金额最多两位小数"),
        ({"preset_fen": "", "custom_yuan": ""}, "请选择或输入赞赏金额"),
        ({"preset_fen": "0"}, "赞赏金额至少 ¥0.01"),
        ({"preset_fen": "99999999"}, "单次赞赏最多 ¥500"),
        ({"preset_fen": "500", "message": "长" * 101}, "留言最多 100 个字"),
    ],
)
def test_bad_amounts_and_messages_are_refused_clearly(app, article, form, message):
    client = _client(app)
    response = send_tip_form(client, f"/p/{article}/tip", **form)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page
    assert _count(app, Order) == 0
    if form.get("message"):
        assert form["message"] in page  # what the reader typed is kept for them to shorten


def test_a_custom_amount_wins_over_a_preset(app, article):
    client = _client(app)
    send_tip_form(client, f"/p/{article}/tip", preset_fen="500", custom_yuan="６.６６")
    assert latest_order(app).amount_fen == 666


def test_a_double_submit_makes_one_order(app, article):
    client = _client(app)
    page = client.get(f"/p/{article}/tip").get_data(as_text=True)
    token = re.search(r'name="request_token" value="([^"]+)"', page).group(1)
    form = {"csrf_token": csrf_token_in(page), "request_token": token, "preset_fen": "500"}
    first = client.post(f"/p/{article}/tip", data=form)
    second = client.post(f"/p/{article}/tip", data=form)
    assert first.location == second.location
    assert _count(app, Order) == 1
    # A new form is a new tip, even while the first is still open.
    send_tip_form(client, f"/p/{article}/tip", preset_fen="1000")
    assert _count(app, Order, Order.status == OrderStatus.PENDING) == 2


def test_someone_elses_form_token_is_refused(app, article):
    first = _client(app)
    page = first.get(f"/p/{article}/tip").get_data(as_text=True)
    token = re.search(r'name="request_token" value="([^"]+)"', page).group(1)
    first.post(
        f"/p/{article}/tip",
        data={"csrf_token": csrf_token_in(page), "request_token": token, "preset_fen": "500"},
    )
    other = _client(app)
    page = other.get(f"/p/{article}/tip").get_data(as_text=True)
    response = other.post(
        f"/p/{article}/tip",
        data={"csrf_token": csrf_token_in(page), "request_token": token, "preset_fen": "500"},
    )
    assert response.status_code == 400 and "请刷新页面" in response.get_data(as_text=True)


def test_drafts_take_no_tips(app, client):
    with app.app_context():
        draft = factories.product(published=False)
        db.session.commit()
        slug = draft.slug
    assert client.get(f"/p/{slug}/tip").status_code == 404


# --- the three channels -------------------------------------------------------------------------


def test_desktop_tip_by_qr_lands_on_the_thank_you_page(app, article):
    desktop = _client(app)
    response = send_tip_form(desktop, f"/p/{article}/tip", preset_fen="500", message="写得真好")
    order = latest_order(app)
    assert response.location.endswith(f"/orders/{order.out_trade_no}")
    assert order.kind is OrderKind.TIP and order.channel.value == "native"
    assert order.amount_fen == 500 and order.title == "赞赏《写作课》"

    page = desktop.get(f"/orders/{order.out_trade_no}").get_data(as_text=True)
    assert "微信扫码支付" in page and "/qr.svg" in page
    pay_on_phone(app, order.code_url, nickname="小王")
    deliver_due_notifications(app)

    status = desktop.get(f"/orders/{order.out_trade_no}/status").get_json()
    assert status["status"] == "paid" and status["kind"] == "tip"
    assert status["next"] == f"/orders/{order.out_trade_no}"
    thanks = desktop.get(status["next"]).get_data(as_text=True)
    assert "感谢你的赞赏" in thanks and "你的支持是我继续写下去的动力" in thanks
    assert f"/p/{article}" in thanks and "复制链接" in thanks


def test_a_tip_inside_wechat_pays_with_jsapi(app, article):
    phone = _client(app, WECHAT_UA)
    WeChatSignIn(phone).sign_in(nickname="微信读者", scope="userinfo")
    form = phone.get(f"/p/{article}/tip").get_data(as_text=True)
    assert 'value="微信读者"' in form  # signed with the WeChat nickname unless changed
    response = send_tip_form(phone, f"/p/{article}/tip", custom_yuan="8.88", name="微信读者")
    order = latest_order(app)
    assert order.channel.value == "jsapi" and order.amount_fen == 888
    params = jsapi_parameters(phone.get(response.location).get_data(as_text=True))
    assert phone.post("/sandbox/pay/jsapi/pay", json=params).get_json()["ok"] is True
    deliver_due_notifications(app)
    assert latest_order(app, order.out_trade_no).status is OrderStatus.PAID
    assert "微信读者" in phone.get(f"/p/{article}").get_data(as_text=True)


def test_inside_wechat_the_identity_comes_first(app, article):
    phone = _client(app, WECHAT_UA)
    with phone.session_transaction() as session:
        session["wechat_oauth_tried"] = True
    assert "微信授权后赞赏" in phone.get(f"/p/{article}/tip").get_data(as_text=True)


def test_a_phone_browser_tip_goes_to_the_cashier_and_comes_back(app, article):
    phone = _client(app, PHONE_UA)
    response = send_tip_form(phone, f"/p/{article}/tip", preset_fen="200")
    order = latest_order(app)
    assert order.channel.value == "h5"
    back = parse_qs(urlsplit(response.location).query)["redirect_url"][0]
    pay_on_phone(app, response.location, nickname="手机用户")
    deliver_due_notifications(app)
    assert "感谢你的赞赏" in phone.get(path_of(back)).get_data(as_text=True)


def test_a_phone_browser_may_pay_by_qr_instead(app, article):
    phone = _client(app, PHONE_UA)
    response = send_tip_form(phone, f"/p/{article}/tip", preset_fen="200", channel="native")
    assert latest_order(app).channel.value == "native"
    assert "/orders/" in response.location


def test_free_items_and_the_creator_take_tips(app, free_article):
    desktop = _client(app)
    on_free = tip_and_pay(app, desktop, f"/p/{free_article}/tip", preset_fen="1000")
    assert on_free.status is OrderStatus.PAID
    to_creator = tip_and_pay(app, desktop, "/about/tip", preset_fen="2000", message="加油")
    assert to_creator.product_id is None and to_creator.status is OrderStatus.PAID
    about = desktop.get("/about").get_data(as_text=True)
    # The creator's wall has every tip in the shop, each saying what it was for.
    assert "2 人赞赏" not in about  # one reader, two tips
    assert "1 人赞赏" in about and "赞赏了《免费的文章》" in about and "加油" in about


# --- tips and access ----------------------------------------------------------------------------


def test_a_tip_never_unlocks_paid_content(app, article):
    desktop = _client(app)
    order = tip_and_pay(app, desktop, f"/p/{article}/tip", preset_fen="5000")
    assert order.status is OrderStatus.PAID
    assert _count(app, Entitlement) == 0
    assert factories.PAID_SECRET not in desktop.get(f"/p/{article}/read").get_data(as_text=True)
    assert "empty-state" in desktop.get("/library").get_data(as_text=True)


def test_refunding_a_purchase_is_not_undone_by_asend_tip_form(app, runner, article):
    desktop = _client(app)
    page = desktop.get(f"/p/{article}/buy").get_data(as_text=True)
    desktop.post(f"/p/{article}/buy", data={"csrf_token": csrf_token_in(page)})
    purchase = latest_order(app)
    pay_on_phone(app, purchase.code_url)
    tip_and_pay(app, desktop, f"/p/{article}/tip", preset_fen="500")
    deliver_due_notifications(app)

    result = runner.invoke(args=["orders", "refund", purchase.out_trade_no])
    assert result.exit_code == 0, result.output
    deliver_due_notifications(app)
    assert _count(app, Entitlement) == 0


# --- the wall -----------------------------------------------------------------------------------


def test_the_wall_shows_supporters_newest_first(app, article):
    tip_and_pay(app, _client(app), f"/p/{article}/tip", name="先来的", preset_fen="200")
    reader = _client(app, WECHAT_UA)
    WeChatSignIn(reader).sign_in(nickname="后到的", scope="userinfo")
    send_tip_form(reader, f"/p/{article}/tip", preset_fen="1000", message="<b>谢谢</b>")
    params = jsapi_parameters(reader.get(f"/orders/{latest_order(app).out_trade_no}").text)
    reader.post("/sandbox/pay/jsapi/pay", json=params)
    deliver_due_notifications(app)

    page = _client(app).get(f"/p/{article}").get_data(as_text=True)
    assert "2 人赞赏" in page
    wall = page[page.index('class="supporters"') :]
    assert wall.index("后到的") < wall.index("先来的")
    assert "&lt;b&gt;谢谢&lt;/b&gt;" in wall and "<b>谢谢</b>" not in wall  # shown, never run
    assert "¥10" in wall and "¥2" in wall


def test_an_anonymous_tip_shows_no_name(app, article):
    reader = _client(app, WECHAT_UA)
    WeChatSignIn(reader).sign_in(nickname="不想露面的人", scope="userinfo")
    send_tip_form(
        reader,
        f"/p/{article}/tip",
        preset_fen="500",
        anonymous="1",
        message="匿名留言",
        name="不想露面的人",
    )
    params = jsapi_parameters(reader.get(f"/orders/{latest_order(app).out_trade_no}").text)
    reader.post("/sandbox/pay/jsapi/pay", json=params)
    deliver_due_notifications(app)
    page = _client(app).get(f"/p/{article}").get_data(as_text=True)
    assert "匿名读者" in page and "匿名留言" in page
    assert "不想露面的人" not in page


def test_hidden_messages_and_amounts_never_reach_the_page(app, article):
    order = tip_and_pay(
        app, _client(app), f"/p/{article}/tip", preset_fen="5000", message="不该出现的留言"
    )
    with app.app_context():
        tips.hide_message(db.session.get(Order, order.id), hidden=True)
        tips.save_settings([200, 500], 50000, "谢谢", show_amounts=False)
        db.session.commit()
    page = _client(app).get(f"/p/{article}").get_data(as_text=True)
    assert "1 人赞赏" in page and "小王" in page
    assert "不该出现的留言" not in page and "¥50" not in page


def test_a_refunded_tip_leaves_the_wall(app, runner, article):
    order = tip_and_pay(app, _client(app), f"/p/{article}/tip", preset_fen="1000")
    result = runner.invoke(args=["orders", "refund", order.out_trade_no, "--amount", "4"])
    assert result.exit_code == 0, result.output
    deliver_due_notifications(app)
    page = _client(app).get(f"/p/{article}").get_data(as_text=True)
    assert "1 人赞赏" in page and "¥6" in page  # what is left of a partly refunded tip

    runner.invoke(args=["orders", "refund", order.out_trade_no])
    deliver_due_notifications(app)
    assert latest_order(app, order.out_trade_no).status is OrderStatus.REFUNDED
    page = _client(app).get(f"/p/{article}").get_data(as_text=True)
    assert "还没有人赞赏" in page and "小王" not in page


def test_a_cached_page_shows_a_new_supporter(app_factory, tmp_path):
    app = app_factory(PAGE_CACHE_SIZE=64, PAGE_CACHE_VERSION_TTL=0)
    with app.app_context():
        slug = factories.product(title="缓存的页面").slug
        db.session.commit()
    anonymous = app.test_client()
    assert "还没有人赞赏" in anonymous.get(f"/p/{slug}").get_data(as_text=True)
    tip_and_pay(app, _client(app), f"/p/{slug}/tip", name="新朋友", preset_fen="200")
    assert "新朋友" in app.test_client().get(f"/p/{slug}").get_data(as_text=True)


def test_an_unsigned_guest_tip_is_named_by_the_wechat_account_that_paid(app, article):
    with app.app_context():
        factories.reader(openid="oPaidByScan", nickname="扫码付款的人")
        db.session.commit()
    order = tip_and_pay(app, _client(app), f"/p/{article}/tip", name="", preset_fen="200")
    page = _client(app).get(f"/p/{article}").get_data(as_text=True)
    assert "一位读者" in page  # a guest who signed with no name
    with app.app_context():
        db.session.execute(
            sa.update(Order).where(Order.id == order.id).values(payer_openid="oPaidByScan")
        )
        queries.mark_content_changed()
        db.session.commit()
    assert "扫码付款的人" in _client(app).get(f"/p/{article}").get_data(as_text=True)


def test_tip_rows_keep_their_message_and_flags(app, article):
    tip_and_pay(app, _client(app), f"/p/{article}/tip", preset_fen="200", anonymous="1")
    with app.app_context():
        tip = db.session.scalar(sa.select(Tip))
        assert tip.is_anonymous is True and tip.message == "" and tip.message_hidden_at is None


def test_a_refused_form_keeps_what_was_typed(app, article):
    phone = _client(app, WECHAT_UA)
    WeChatSignIn(phone).sign_in(nickname="微信昵称", scope="userinfo")
    response = send_tip_form(
        phone, f"/p/{article}/tip", custom_yuan="0", name="自己起的名字", anonymous="1"
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'value="自己起的名字"' in page and 'value="微信昵称"' not in page
    assert 'name="anonymous" value="1" checked' in page
