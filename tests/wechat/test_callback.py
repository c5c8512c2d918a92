"""`/wechat/callback` as WeChat calls it: signed queries, plaintext and safe mode through
wechatpy's own crypto, each message answered once, nothing unreadable ever an error."""

import hashlib
import time

import pytest
import xmltodict
from wechatpy.crypto import WeChatCrypto

from app.extensions import db
from app.models import ProductKind
from tests import factories

TOKEN = "kfcktoken"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
FOLLOWER = "oFollower0000000000000000001"


@pytest.fixture
def shop(app_factory):
    app = app_factory(WECHAT_TOKEN=TOKEN, WECHAT_ENCODING_AES_KEY=AES_KEY)
    with app.app_context():
        factories.product(title="高效写作课", summary="写作的方法", featured=True)
        factories.product(ProductKind.COURSE, title="产品思维", summary="从零开始")
        db.session.commit()
    return app


def _signed(timestamp="1700000000", nonce="123456", **extra) -> dict:
    signature = hashlib.sha1("".join(sorted([TOKEN, timestamp, nonce])).encode()).hexdigest()
    return {"signature": signature, "timestamp": timestamp, "nonce": nonce, **extra}


def _xml(**fields) -> str:
    fields = {"ToUserName": "gh_shop", "FromUserName": FOLLOWER, "CreateTime": "1700000000"} | {
        k: v for k, v in fields.items()
    }
    inner = "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in fields.items())
    return f"<xml>{inner}</xml>"


def _post(app, xml: str, **query):
    client = app.test_client()
    return client.post("/wechat/callback", query_string=_signed(**query), data=xml.encode())


def _reply(app, xml: str) -> dict:
    answer = _post(app, xml)
    assert answer.status_code == 200
    return xmltodict.parse(answer.get_data(as_text=True))["xml"]


def test_the_server_url_check_echoes_echostr(shop):
    client = shop.test_client()
    ok = client.get("/wechat/callback", query_string=_signed(echostr="8372910"))
    assert ok.status_code == 200 and ok.get_data(as_text=True) == "8372910"
    forged = _signed(echostr="1") | {"signature": "0" * 40}
    assert client.get("/wechat/callback", query_string=forged).status_code == 403


def test_a_forged_post_is_refused_and_answers_nothing(shop):
    client = shop.test_client()
    query = _signed() | {"signature": "0" * 40}
    answer = client.post("/wechat/callback", query_string=query, data=_xml(MsgType="text"))
    assert answer.status_code == 403 and "高效写作课" not in answer.get_data(as_text=True)


def test_a_keyword_finds_the_item(shop):
    reply = _reply(shop, _xml(MsgType="text", Content="写作", MsgId="1001"))
    assert reply["MsgType"] == "news" and reply["ToUserName"] == FOLLOWER
    card = reply["Articles"]["item"]
    assert card["Title"] == "高效写作课" and "/p/" in card["Url"]


def test_a_keyword_with_no_match_gets_a_helpful_reply(shop):
    reply = _reply(shop, _xml(MsgType="text", Content="天气预报", MsgId="1002"))
    assert reply["MsgType"] == "text" and "没有找到" in reply["Content"]


def test_following_is_welcomed_with_the_featured_items(shop):
    reply = _reply(shop, _xml(MsgType="event", Event="subscribe"))
    assert reply["MsgType"] == "news"
    assert reply["Articles"]["item"]["Title"] == "高效写作课"


def test_the_menu_click_answers_with_the_latest_items(shop):
    reply = _reply(shop, _xml(MsgType="event", Event="CLICK", EventKey="kcfk"))
    titles = [card["Title"] for card in reply["Articles"]["item"]]
    assert set(titles) == {"高效写作课", "产品思维"} and reply["ArticleCount"] == "2"


def test_a_repeat_is_answered_once(shop):
    message = _xml(MsgType="text", Content="写作", MsgId="2001")
    assert "高效写作课" in _post(shop, message).get_data(as_text=True)
    assert _post(shop, message).get_data(as_text=True) == "success"  # WeChat's retry
    event = _xml(MsgType="event", Event="subscribe", CreateTime="1700000099")
    assert _post(shop, event).get_data(as_text=True) != "success"
    assert _post(shop, event).get_data(as_text=True) == "success"


@pytest.mark.parametrize(
    "body",
    [
        "not xml at all",
        "<xml><MsgType>text",
        '<!DOCTYPE xml [<!ENTITY e "boom">]><xml><Content>&e;</Content></xml>',
        "",
    ],
    ids=["text", "truncated", "entity", "empty"],
)
def test_an_unreadable_body_is_never_an_error(shop, body):
    answer = _post(shop, body)
    assert answer.status_code == 200 and answer.get_data(as_text=True) == "success"


def test_anything_unknown_gets_a_friendly_reply(shop):
    reply = _reply(shop, _xml(MsgType="image", PicUrl="http://x/y.jpg", MsgId="3001"))
    assert reply["MsgType"] == "text" and "搜索" in reply["Content"]
    unfollow = _post(shop, _xml(MsgType="event", Event="unsubscribe", CreateTime="1700000123"))
    assert unfollow.get_data(as_text=True) == "success"


def test_safe_mode_round_trip_through_wechatpys_crypto(shop):
    crypto = WeChatCrypto(TOKEN, AES_KEY, shop.config["WECHAT_APPID"])
    timestamp, nonce = str(int(time.time())), "8765"
    envelope = crypto.encrypt_message(
        _xml(MsgType="text", Content="产品", MsgId="4001"), nonce, timestamp
    )
    sealed = xmltodict.parse(envelope)["xml"]
    answer = _post(
        shop,
        envelope,
        timestamp=timestamp,
        nonce=nonce,
        encrypt_type="aes",
        msg_signature=sealed["MsgSignature"],
    )
    assert answer.status_code == 200
    reply_envelope = xmltodict.parse(answer.get_data(as_text=True))["xml"]
    assert "Encrypt" in reply_envelope and "产品思维" not in answer.get_data(as_text=True)
    opened = crypto.decrypt_message(
        answer.get_data(as_text=True),
        reply_envelope["MsgSignature"],
        reply_envelope["TimeStamp"],
        reply_envelope["Nonce"],
    )
    assert "产品思维" in opened


def test_safe_mode_with_a_wrong_message_signature_is_refused(shop):
    crypto = WeChatCrypto(TOKEN, AES_KEY, shop.config["WECHAT_APPID"])
    envelope = crypto.encrypt_message(_xml(MsgType="text", Content="x"), "1", "1700000000")
    answer = _post(shop, envelope, encrypt_type="aes", msg_signature="0" * 40)
    assert answer.status_code == 403


def test_without_a_token_the_callback_is_off(shop):
    shop.config["WECHAT_TOKEN"] = ""
    assert shop.test_client().get("/wechat/callback").status_code == 404


def test_a_scan_from_the_menu_is_acknowledged(shop):
    xml = (
        "<xml><ToUserName>gh_shop</ToUserName><FromUserName>"
        f"{FOLLOWER}</FromUserName><CreateTime>1700000200</CreateTime><MsgType>event</MsgType>"
        "<Event>scancode_push</Event><EventKey>scan_code</EventKey><ScanCodeInfo>"
        "<ScanType>qrcode</ScanType><ScanResult>https://shop.example.com/p/x</ScanResult>"
        "</ScanCodeInfo></xml>"
    )
    reply = _reply(shop, xml)
    assert reply["MsgType"] == "text" and "https://shop.example.com/p/x" in reply["Content"]
