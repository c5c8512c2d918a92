"""The share page and its poster: a QR code a phone can read, which leads to the item and
credits the sharer, through the 公众号's 带参数二维码 when the callback is on."""

import hashlib
import io
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import sqlalchemy as sa
import xmltodict
import zxingcpp
from PIL import Image

from app.analytics import dashboard, rollups
from app.analytics.stats import DateRange
from app.extensions import db
from app.models import OrderSource, WeChatQrCode
from app.readers.sharer_codes import sharer_code
from app.sandbox.models import SandboxQrCode
from app.sandbox.notify import deliver_due_notifications
from tests import factories
from tests.conftest import path_of, sign_in_as
from tests.payflow import DESKTOP_UA, latest_order, pay_on_phone
from tests.payflow import csrf_token_in as _token


def _sharer_client(app, nickname="推荐人"):
    with app.app_context():
        reader = factories.reader(openid="oPosterSharer", nickname=nickname)
        db.session.commit()
        reader_id = reader.id
    client = app.test_client()
    sign_in_as(app, client, reader_id)
    return client, reader_id, sharer_code(app.secret_key, reader_id)


def _scan(png: bytes) -> str:
    """What a phone's camera reads off the poster."""
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(found) == 1, "the poster has exactly one readable QR code"
    return found[0].text


def _buy_and_pay(app, client, url):
    client.get(path_of(url))
    slug = urlsplit(url).path.split("/")[2]
    page = client.get(f"/p/{slug}/buy").get_data(as_text=True)
    shown = re.search(r'name="price_fen" value="(\d+)"', page).group(1)
    client.post(f"/p/{slug}/buy", data={"csrf_token": _token(page), "price_fen": shown})
    pay_on_phone(app, latest_order(app).code_url)
    deliver_due_notifications(app)
    return latest_order(app)


def _follow_by_scanning(app, scene: str) -> dict:
    """WeChat's subscribe event for a follow through a 带参数二维码, and the shop's answer."""
    token = app.config["WECHAT_TOKEN"]
    timestamp, nonce = "1700000000", "42"
    signature = hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()
    fields = {
        "ToUserName": "gh_shop",
        "FromUserName": "oNewFollower",
        "CreateTime": timestamp,
        "MsgType": "event",
        "Event": "subscribe",
        "EventKey": f"qrscene_{scene}",
        "Ticket": "t",
    }
    xml = "<xml>" + "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in fields.items()) + "</xml>"
    answer = app.test_client().post(
        "/wechat/callback",
        query_string={"signature": signature, "timestamp": timestamp, "nonce": nonce},
        data=xml.encode(),
    )
    return xmltodict.parse(answer.get_data(as_text=True))["xml"]


def test_the_poster_scans_to_a_follow_that_welcomes_with_the_item_and_credits_the_sharer(
    app, article
):
    sharer, sharer_id, code = _sharer_client(app)
    page = sharer.get(f"/p/{article}/share")
    assert page.status_code == 200 and "no-store" in page.headers["Cache-Control"]
    html = page.get_data(as_text=True)
    assert f"/p/{article}/poster.png" in html and f"via=share&amp;by={code}" in html

    poster = sharer.get(f"/p/{article}/poster.png")
    assert poster.mimetype == "image/png" and "no-store" in poster.headers["Cache-Control"]
    scanned = _scan(poster.data)
    assert "/sandbox/qr/" in scanned  # a 带参数二维码: scanning it opens the 公众号
    opened = app.test_client().get(path_of(scanned)).get_data(as_text=True)
    with app.app_context():
        item_id = factories.Product.query.filter_by(slug=article).one().id
    scene = f"i{item_id}-{code}"
    assert scene in opened

    welcome = _follow_by_scanning(app, scene)
    cards = welcome["Articles"]["item"]
    first = cards[0] if isinstance(cards, list) else cards
    assert first["Title"] == "写作课" and "朋友分享" in first["Description"]
    tags = parse_qs(urlsplit(first["Url"]).query)
    assert tags == {"via": ["poster"], "by": [code]}

    friend = app.test_client()
    friend.environ_base["HTTP_USER_AGENT"] = DESKTOP_UA
    order = _buy_and_pay(app, friend, first["Url"])
    assert order.source is OrderSource.POSTER and order.sharer_id == sharer_id
    with app.app_context():  # and the dashboard credits the poster and its sharer
        rollups.ensure_current("Asia/Shanghai", lag=timedelta(0))
        today = datetime.now(UTC).date()
        data = dashboard.build(
            DateRange(today - timedelta(days=1), today + timedelta(days=1)), "day"
        )
    assert data.sources.loc["poster", "paid_count"] == 1
    assert data.sharers["reader_id"].tolist() == [sharer_id]

    # The same poster again: the code WeChat made is kept, not made anew.
    assert _scan(sharer.get(f"/p/{article}/poster.png").data) == scanned
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SandboxQrCode)) == 1
        assert db.session.get(WeChatQrCode, scene).url == scanned


def test_without_the_callback_the_poster_links_to_the_item(app, article):
    app.config["WECHAT_TOKEN"] = ""  # the 公众号's server configuration is not set up
    sharer, sharer_id, code = _sharer_client(app)
    scanned = _scan(sharer.get(f"/p/{article}/poster.png").data)
    assert urlsplit(scanned).path == f"/p/{article}"
    assert parse_qs(urlsplit(scanned).query) == {"via": ["poster"], "by": [code]}
    friend = app.test_client()
    friend.environ_base["HTTP_USER_AGENT"] = DESKTOP_UA
    order = _buy_and_pay(app, friend, scanned)
    assert order.source is OrderSource.POSTER and order.sharer_id == sharer_id


def test_when_wechat_cannot_make_a_code_the_poster_still_works(app_factory):
    app = app_factory(WECHAT_API_BASE_URL="http://127.0.0.1:9", WECHAT_HTTP_TIMEOUT=2)
    with app.app_context():
        slug = factories.product(title="离线也能分享", price_fen=100).slug
        db.session.commit()
    scanned = _scan(app.test_client().get(f"/p/{slug}/poster.png").data)
    assert urlsplit(scanned).path == f"/p/{slug}"
    assert parse_qs(urlsplit(scanned).query) == {"via": ["poster"]}  # a visitor has no code


def test_drafts_and_unknown_items_have_no_poster(app):
    with app.app_context():
        draft = factories.product(title="草稿", published=False).slug
        db.session.commit()
    client = app.test_client()
    for slug in (draft, "no-such-item"):
        assert client.get(f"/p/{slug}/share").status_code == 404
        assert client.get(f"/p/{slug}/poster.png").status_code == 404


def test_a_follower_scanning_a_poster_gets_the_item(app, article):
    with app.app_context():
        item_id = factories.Product.query.filter_by(slug=article).one().id
    token = app.config["WECHAT_TOKEN"]
    signature = hashlib.sha1("".join(sorted([token, "1", "2"])).encode()).hexdigest()
    xml = (
        "<xml><ToUserName>gh</ToUserName><FromUserName>oFan</FromUserName>"
        "<CreateTime>1700000001</CreateTime><MsgType>event</MsgType><Event>SCAN</Event>"
        f"<EventKey>i{item_id}</EventKey><Ticket>t</Ticket></xml>"
    )
    answer = app.test_client().post(
        "/wechat/callback",
        query_string={"signature": signature, "timestamp": "1", "nonce": "2"},
        data=xml,
    )
    card = xmltodict.parse(answer.get_data(as_text=True))["xml"]["Articles"]["item"]
    assert card["Title"] == "写作课" and card["Url"].endswith(f"/p/{article}?via=poster")
    nothing = xml.replace(f"i{item_id}", "i999999").replace("1700000001", "1700000002")
    answer = app.test_client().post(
        "/wechat/callback",
        query_string={"signature": signature, "timestamp": "1", "nonce": "2"},
        data=nothing,
    )
    assert answer.get_data(as_text=True) in ("", "success")  # an unknown scene: no answer


def test_a_sandbox_follower_scans_the_poster_and_is_welcomed_with_the_item(app, article):
    from app.sandbox import oa_messages
    from tests.sandbox.test_follower import Phone

    sharer, _, code = _sharer_client(app)
    scanned = _scan(sharer.get(f"/p/{article}/poster.png").data)
    opened = app.test_client().get(path_of(scanned)).get_data(as_text=True)
    ticket = re.search(r"/sandbox/follower\?ticket=([\w-]+)", opened).group(1)

    phone = Phone(app, nickname="扫码的新朋友")
    page = phone.client.get(f"/sandbox/follower?openid={phone.openid}&ticket={ticket}")
    assert "data-ticket-scene" in page.get_data(as_text=True)
    phone.do("scan", ticket=ticket)
    with app.app_context():
        exchange = oa_messages.conversation(phone.openid)[-1]
    first = exchange.reply.cards[0]
    assert first.title == "写作课"
    assert parse_qs(urlsplit(first.url).query) == {"via": ["poster"], "by": [code]}
    assert phone.standing().following
    refused = phone.post("scan", ticket="no-such-ticket")
    assert refused.status_code == 400 and "过期" in refused.get_data(as_text=True)
