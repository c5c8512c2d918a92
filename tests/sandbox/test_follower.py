"""The sandbox's follower page (扮演粉丝): each action reaches the shop's /wechat/callback as
WeChat sends it (signed, and sealed in safe mode), the answer is read back into the chat,
and the sandbox keeps who follows. What the shop receives is checked with wechatpy's own
signature check, crypto and parser, as the wire carried it."""

import re

import pytest
import sqlalchemy as sa
from flask import request as incoming
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import check_signature

from app.extensions import db
from app.models import ProductKind
from app.sandbox import oa_messages
from app.sandbox import oauth as sandbox_oauth
from app.sandbox import official_account as sandbox_oa
from app.sandbox.models import SandboxFollowerMessage
from tests import factories
from tests.payflow import csrf_token_in

TOKEN = "kfcktoken"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


class Wire:
    """What reached the shop's callback: (query, body) per request."""

    def __init__(self, app):
        self.app = app
        self.requests: list[tuple[dict, bytes]] = []

    def message(self, index: int = -1):
        """The last message as the shop would read it, after checking every signature."""
        query, body = self.requests[index]
        check_signature(TOKEN, query["signature"], query["timestamp"], query["nonce"])
        if self.app.config["WECHAT_ENCODING_AES_KEY"]:
            assert query["encrypt_type"] == "aes"
            assert b"<Encrypt>" in body and b"<MsgType>" not in body  # sealed
            crypto = WeChatCrypto(TOKEN, AES_KEY, self.app.config["WECHAT_APPID"])
            body = crypto.decrypt_message(
                body, query["msg_signature"], query["timestamp"], query["nonce"]
            )
        else:
            assert "encrypt_type" not in query
        message = parse_message(body)
        assert message.source == query["openid"] and str(message.time) == query["timestamp"]
        return message


@pytest.fixture(params=["plaintext", "safe"])
def shop_and_wire(app_factory, request):
    """A shop with two items and its default menu pushed, in plaintext or safe mode, and
    what reaches its callback."""
    safe = request.param == "safe"
    app = app_factory(WECHAT_TOKEN=TOKEN, WECHAT_ENCODING_AES_KEY=AES_KEY if safe else "")
    seen = Wire(app)

    @app.before_request  # before the app's first request, which the push below is
    def record():
        if incoming.path == "/wechat/callback":
            seen.requests.append((incoming.args.to_dict(), incoming.get_data()))

    with app.app_context():
        factories.product(title="高效写作课", summary="写作的方法", featured=True)
        factories.product(ProductKind.COURSE, title="产品思维", summary="从零开始")
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["wechat", "menu", "push"])
    assert result.exit_code == 0, result.output
    return app, seen


@pytest.fixture
def shop(shop_and_wire):
    return shop_and_wire[0]


@pytest.fixture
def wire(shop_and_wire):
    return shop_and_wire[1]


class Phone:
    """The follower page in a browser, playing one sandbox user."""

    def __init__(self, app, nickname="小红"):
        self.app = app
        self.client = app.test_client()
        page = self.client.get("/sandbox/follower").get_data(as_text=True)
        self.token = csrf_token_in(page)
        chosen = self.client.post(
            "/sandbox/follower/user", data={"csrf_token": self.token, "new_nickname": nickname}
        )
        assert chosen.status_code == 302
        self.openid = re.search(r"openid=([\w-]+)", chosen.location).group(1)

    def post(self, action: str, **form):
        data = {"csrf_token": self.token, "openid": self.openid, **form}
        return self.client.post(f"/sandbox/follower/{action}", data=data)

    def do(self, action: str, **form):
        response = self.post(action, **form)
        assert response.status_code == 302, response.get_data(as_text=True)
        return response

    def page(self) -> str:
        return self.client.get(f"/sandbox/follower?openid={self.openid}").get_data(as_text=True)

    def last(self) -> oa_messages.Exchange:
        with self.app.app_context():
            return oa_messages.conversation(self.openid)[-1]

    def standing(self):
        with self.app.app_context():
            return sandbox_oa.follower(self.openid)


@pytest.fixture
def phone(shop):
    return Phone(shop)


def _titles(reply) -> list[str]:
    return [card.title for card in reply.cards]


# --- following, the menu, a text -------------------------------------------------------------


def test_following_is_welcomed_with_the_featured_cards(phone, wire):
    phone.do("follow")
    message = wire.message()
    assert message.type == "event" and message.event == "subscribe"
    reply = phone.last().reply
    assert reply.kind == "news" and _titles(reply) == ["高效写作课"]
    card = reply.cards[0]
    assert card.description == "写作的方法" and card.url.startswith("http://localhost/p/")
    page = phone.page()
    assert "关注了公众号" in page and 'data-reply="news"' in page and "高效写作课" in page
    assert 'data-standing="following"' in page


def test_the_kcfk_button_gets_the_latest_cards(phone, wire):
    phone.do("follow")
    phone.do("menu", button="0")  # 知识付费
    message = wire.message()
    assert message.event == "click" and message.key == "kcfk"
    reply = phone.last().reply
    assert reply.kind == "news" and set(_titles(reply)) == {"高效写作课", "产品思维"}
    assert "点击菜单「知识付费」" in phone.page()


def test_a_text_is_searched_in_the_shop(phone, wire):
    phone.do("follow")
    phone.do("text", content="  写作 ")
    message = wire.message()
    assert message.type == "text" and message.content == "写作" and message.id
    assert _titles(phone.last().reply) == ["高效写作课"]
    phone.do("text", content="天气预报")
    reply = phone.last().reply
    assert reply.kind == "text" and "没有找到" in reply.text
    assert '<p class="oa-bubble oa-mine">天气预报</p>' in phone.page()


def test_quick_presses_are_each_answered(phone, wire):
    """The shop answers an event once per sender and CreateTime: the sandbox never sends two
    of one follower's messages with the same CreateTime."""
    phone.do("follow")
    phone.do("menu", button="0")
    phone.do("menu", button="0")
    times = [wire.message(i).time for i in range(3)]
    assert times == sorted(set(times))
    assert phone.last().reply.kind == "news"


def test_a_view_button_sends_its_event_and_opens_the_link(phone, wire):
    phone.do("follow")
    before = phone.standing().last_interaction_at
    opened = phone.do("menu", button="1.0")  # 其他菜单 › 关于我们
    assert opened.location == "http://localhost/about?via=menu"
    message = wire.message()
    assert message.event == "view" and message.url == "http://localhost/about?via=menu"
    assert phone.last().reply.kind == "none"
    assert phone.standing().last_interaction_at == before  # opening a page is no interaction


def test_a_scan_button_asks_what_was_scanned_then_sends_it(phone, wire):
    phone.do("follow")
    asked = phone.do("menu", button="1.1")  # 其他菜单 › 扫描二维码
    assert asked.location.endswith("&scan=1.1") and len(wire.requests) == 1
    sheet = phone.client.get(asked.location).get_data(as_text=True)
    assert "data-scan-sheet" in sheet and "「扫描二维码」扫到的内容" in sheet
    phone.do("menu", button="1.1", scanned="https://example.com/x")
    message = wire.message()
    assert message.event == "scancode_push" and message.key == "scan_code"
    assert message.scan_type == "qrcode" and message.scan_result == "https://example.com/x"
    reply = phone.last().reply
    assert reply.kind == "text" and reply.text == "扫到了：https://example.com/x"


def test_a_sub_menu_title_or_a_missing_button_is_no_button(phone, wire):
    phone.do("follow")
    for path in ("1", "5", "0.0", "x", "1.9"):
        refused = phone.post("menu", button=path)
        assert refused.status_code == 400 and "菜单里没有这个按钮" in refused.get_data(as_text=True)
    assert len(wire.requests) == 1


# --- parametric QR codes ---------------------------------------------------------------------


def test_scanning_a_scene_follows_with_the_qrscene_key(phone, wire):
    phone.do("scan", scene="p42-r7")
    message = wire.message()
    assert message.event == "subscribe_scan"  # wechatpy's name for subscribe + qrscene_
    assert message.scene_id == "p42-r7" and message.ticket.startswith("gQ")
    with phone.app.app_context():
        sent = oa_messages.conversation(phone.openid)[-1].message.sent_xml
    assert "<Event><![CDATA[subscribe]]></Event>" in sent
    assert "<EventKey><![CDATA[qrscene_p42-r7]]></EventKey>" in sent
    assert phone.standing().following
    assert _titles(phone.last().reply) == ["高效写作课"]  # welcomed like any new follower


def test_a_follower_scanning_sends_scan_with_the_bare_scene(phone, wire):
    phone.do("follow")
    phone.do("scan", scene="42")
    message = wire.message()
    assert message.event == "scan" and message.scene_id == "42" and message.ticket
    assert phone.last().reply.kind == "none"
    assert "扫描带参数二维码（场景 42）" in phone.page()


def test_a_scene_must_be_one_to_64_characters(phone, wire):
    for scene in ("", "   ", "x" * 65, "a\nb"):
        refused = phone.post("scan", scene=scene)
        assert refused.status_code == 400 and "场景值" in refused.get_data(as_text=True)
    assert wire.requests == [] and not sandbox_is_following(phone)


# --- follower state --------------------------------------------------------------------------


def sandbox_is_following(phone) -> bool:
    with phone.app.app_context():
        return sandbox_oa.is_following(phone.openid)


def test_follower_state_is_recorded(phone, wire):
    assert not sandbox_is_following(phone) and phone.standing() is None
    phone.do("follow")
    followed = phone.standing()
    assert sandbox_is_following(phone) and followed.followed_at is not None
    assert followed.last_interaction_at == followed.followed_at
    phone.do("text", content="写作")
    assert phone.standing().last_interaction_at > followed.last_interaction_at
    phone.do("unfollow")
    assert wire.message().event == "unsubscribe" and phone.last().reply.kind == "none"
    assert not sandbox_is_following(phone)
    assert 'data-standing="not-following"' in phone.page()
    assert phone.standing().followed_at == followed.followed_at  # kept: when they last followed


def test_set_following_is_what_other_sandbox_endpoints_use(app):
    with app.app_context():
        user = sandbox_oauth.create_user("阿明")
        sandbox_oa.set_following(user.openid, True)
        db.session.commit()
        assert sandbox_oa.is_following(user.openid)
        assert sandbox_oa.follower(user.openid).last_interaction_at is not None
        sandbox_oa.set_following(user.openid, False)
        db.session.commit()
        assert not sandbox_oa.is_following(user.openid)
        assert not sandbox_oa.is_following("oNobody000000000000000000000")


def test_what_wechat_would_not_allow_is_refused_and_sends_nothing(phone, wire):
    for action, form in (("text", {"content": "你好"}), ("menu", {"button": "0"})):
        refused = phone.post(action, **form)
        assert refused.status_code == 400 and "请先关注公众号" in refused.get_data(as_text=True)
    assert phone.post("unfollow").status_code == 400
    phone.do("follow")
    assert "已经关注了" in phone.post("follow").get_data(as_text=True)
    assert phone.post("text", content="   ").status_code == 400
    assert phone.post("text", content="字" * 601).status_code == 400
    assert len(wire.requests) == 1
    with phone.app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(SandboxFollowerMessage.id))) == 1


def test_the_raw_xml_is_shown_for_developers(phone, wire):
    phone.do("follow")
    phone.do("menu", button="0")
    page = phone.page()
    sent = re.findall(r"<pre data-sent-xml>(.*?)</pre>", page, re.S)[-1]
    assert "&lt;Event&gt;&lt;![CDATA[CLICK]]&gt;&lt;/Event&gt;" in sent
    answer = re.findall(r"<pre data-answer>(.*?)</pre>", page, re.S)[-1]
    if phone.app.config["WECHAT_ENCODING_AES_KEY"]:
        assert "&lt;Encrypt&gt;" in answer and "产品思维" not in answer
        opened = re.findall(r"<pre data-reply-xml>(.*?)</pre>", page, re.S)[-1]
        assert "产品思维" in opened
    else:
        assert "产品思维" in answer and "data-reply-xml" not in page


# --- pages -----------------------------------------------------------------------------------


def test_a_shop_whose_callback_is_off_is_shown_failing(phone):
    phone.do("follow")
    phone.app.config["WECHAT_TOKEN"] = ""  # the callback answers 404 without a Token
    phone.do("menu", button="0")
    reply = phone.last().reply
    assert reply.kind == "failed" and "404" in reply.text
    page = phone.page()
    assert 'data-reply="failed"' in page and "该公众号暂时无法提供服务" in page


def test_without_a_pushed_menu_the_page_says_so(app):
    follower = Phone(app)
    follower.do("follow")
    page = follower.page()
    assert "公众号还没有菜单" in page and 'class="oa-menubar"' not in page


def test_the_page_starts_by_choosing_a_user_and_remembers_them(app):
    client = app.test_client()
    page = client.get("/sandbox/follower").get_data(as_text=True)
    assert "扮演公众号的粉丝" in page and "或新建测试用户" in page
    token = csrf_token_in(page)
    refused = client.post("/sandbox/follower/user", data={"csrf_token": token})
    assert refused.status_code == 400
    client.post("/sandbox/follower/user", data={"csrf_token": token, "new_nickname": "小刚"})
    again = client.get("/sandbox/follower").get_data(as_text=True)  # the cookie remembers
    assert "<strong>小刚</strong>" in again and "关注公众号" in again


def test_there_is_no_follower_page_outside_the_sandbox(app_factory):
    live = app_factory(
        WECHAT_SANDBOX=False,
        WECHAT_APPID="wx1234567890abcdef",
        WECHAT_APP_SECRET="app-secret-9f8e7d6c5b4a",
        WECHAT_MCH_ID="1612345678",
        WECHAT_PAY_API_KEY="livepaykey0123456789abcdefABCDEF",
        PUBLIC_BASE_URL="https://shop.example.com",
    )
    assert live.test_client().get("/sandbox/follower").status_code == 404
