"""Share cards inside WeChat: wx.config's signature for the page's exact address, checked by
the sandbox's JS-SDK stand-in as WeChat checks it, and the reader's code for the link."""

from wechatpy.utils import WeChatSigner

from app.extensions import db
from app.readers.sharer_codes import sharer_code
from app.wechat.official_account import current_client
from tests import factories
from tests.conftest import sign_in_as

PAGE = "http://localhost/p/item-1?via=share&by=x"


def _ticket(app) -> str:
    with app.test_request_context():
        return current_client().jsapi_ticket()


def test_the_config_is_signed_for_the_exact_page_and_names_the_sharer(app):
    with app.app_context():
        reader_id = factories.reader(openid="oSharer").id
        db.session.commit()
    client = app.test_client()
    sign_in_as(app, client, reader_id)
    answer = client.get("/wechat/share-config", query_string={"url": PAGE + "#top"})
    assert answer.status_code == 200 and "no-store" in answer.headers["Cache-Control"]
    body = answer.get_json()
    config = body["config"]
    assert body["sharer"] == sharer_code(app.secret_key, reader_id)
    assert config["appId"] == app.config["WECHAT_APPID"]
    assert config["jsApiList"] == ["updateAppMessageShareData", "updateTimelineShareData"]
    signer = WeChatSigner(delimiter=b"&")
    signer.add_data(
        f"noncestr={config['nonceStr']}",
        f"jsapi_ticket={_ticket(app)}",
        f"timestamp={config['timestamp']}",
        f"url={PAGE}",  # without the fragment, as WeChat signs
    )
    assert config["signature"] == signer.signature

    check = app.test_client().post("/sandbox/jssdk/check", json=config | {"url": PAGE})
    assert check.get_json() == {"ok": True, "errMsg": "config:ok"}
    for wrong in ({"url": PAGE + "&more=1"}, {"signature": "0" * 40}, {"appId": "wx0"}):
        check = app.test_client().post("/sandbox/jssdk/check", json=config | {"url": PAGE} | wrong)
        assert check.get_json()["ok"] is False


def test_a_visitor_gets_a_config_without_a_code_and_other_sites_get_none(app):
    client = app.test_client()
    assert (
        client.get("/wechat/share-config", query_string={"url": PAGE}).get_json()["sharer"] is None
    )
    for url in ("https://evil.example/p/1", "", "javascript:alert(1)"):
        assert client.get("/wechat/share-config", query_string={"url": url}).status_code == 400


def test_pages_load_the_sandbox_sdk_and_live_pages_wechats_own(app, app_factory, tmp_path):
    page = app.test_client().get("/")
    html = page.get_data(as_text=True)
    assert 'data-sdk="/sandbox/jweixin.js"' in html and 'property="og:url"' in html
    assert "res.wx.qq.com" not in page.headers["Content-Security-Policy"]
    sdk = app.test_client().get("/sandbox/jweixin.js")
    assert sdk.status_code == 200 and "updateAppMessageShareData" in sdk.get_data(as_text=True)

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_text("-----BEGIN CERTIFICATE-----")
    key.write_text("-----BEGIN PRIVATE KEY-----")
    live = app_factory(
        WECHAT_SANDBOX=False,
        WECHAT_APPID="wx1234567890abcdef",
        WECHAT_APP_SECRET="s" * 32,
        WECHAT_MCH_ID="1612345678",
        WECHAT_PAY_API_KEY="k" * 32,
        WECHAT_PAY_CERT_PATH=str(cert),
        WECHAT_PAY_KEY_PATH=str(key),
        PUBLIC_BASE_URL="https://shop.example.com/",
    )
    page = live.test_client().get("/")
    assert 'data-sdk="https://res.wx.qq.com/open/js/jweixin-1.6.0.js"' in page.get_data(
        as_text=True
    )
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self' https://res.wx.qq.com;" in policy
