"""The WeixinJSBridge stand-in in a real browser (Debian's Chromium): the sheet, its three
outcomes, and leaving a real bridge alone. The page is a stand-in for the shop's JSAPI pay page,
served with the test app; the sandbox's own jsbridge.js runs in it."""

import json
import threading

import pytest
from flask import Flask
from markupsafe import Markup
from werkzeug.serving import make_server
from werkzeug.wrappers import Response

from tests.e2e.conftest import browser_context, close_context
from tests.sandbox.conftest import SandboxTables, make_pay, order_args

PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><h1>商户的支付页</h1><button id="go" type="button">确认支付</button>
<script>
{before}
document.addEventListener("WeixinJSBridgeReady", function () {{
  document.body.dataset.ready = "yes";
}});
</script>
<script src="/sandbox/pay/jsbridge.js"></script>
<script>
var params = {params};
document.getElementById("go").addEventListener("click", function () {{
  WeixinJSBridge.invoke("getBrandWCPayRequest", params, function (res) {{
    document.body.dataset.result = res.err_msg;
  }});
}});
</script></body></html>"""


@pytest.fixture
def sandbox(app):
    return SandboxTables(app)


@pytest.fixture
def shop_page(app: Flask):
    """A stand-in for a merchant's JSAPI pay page, served beside the app on a live port.

    Served outside the app: its inline scripts are the merchant's, not under the shop's CSP."""
    pages: dict[str, tuple[dict, str]] = {}
    prefix = "/test-jsapi/"

    def merchant_or_app(environ, start_response):
        path = environ["PATH_INFO"]
        if not path.startswith(prefix):
            return app(environ, start_response)
        params, before = pages[path[len(prefix) :]]
        page = PAGE.format(params=Markup(json.dumps(params)), before=before)
        return Response(page, mimetype="text/html")(environ, start_response)

    server = make_server("127.0.0.1", 0, merchant_or_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", pages
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture
def page(browser, shop_page):
    """A phone-sized page on the test app's server."""
    base_url, _ = shop_page
    context, errors = browser_context(
        browser, base_url, viewport={"width": 390, "height": 844}, locale="zh-CN"
    )
    yield context.new_page()
    close_context(context, errors)


def _jsapi_params(app, sandbox, pages, name, **overrides):
    wxpay = make_pay(app)
    args = order_args("JSAPI", user_id=sandbox.user(), body="知识小店-专栏")
    params = wxpay.jsapi.get_jsapi_params(wxpay.order.create(**args)["prepay_id"])
    before = overrides.pop("_before", "")
    pages[name] = ({**params, **overrides}, before)
    return args["out_trade_no"]


def test_pay_cancel_and_fail(app, sandbox, shop_page, page):
    _, pages = shop_page
    paid = _jsapi_params(app, sandbox, pages, "pay")
    cancelled = _jsapi_params(app, sandbox, pages, "cancel")
    _jsapi_params(app, sandbox, pages, "forged", paySign="0" * 32)

    page.goto("/test-jsapi/pay")
    assert page.get_attribute("body", "data-ready") == "yes"
    page.click("#go")
    sheet = page.locator("[data-sandbox-pay-sheet]")
    sheet.get_by_text("¥9.90").wait_for()
    assert "知识小店" in sheet.inner_text() and "专栏" in sheet.inner_text()
    sheet.locator('[data-action="pay"]').click()
    page.wait_for_selector('body[data-result="get_brand_wcpay_request:ok"]')
    assert sheet.count() == 0
    assert sandbox.order(paid).trade_state == "SUCCESS"

    page.goto("/test-jsapi/cancel")
    page.click("#go")
    page.locator('[data-sandbox-pay-sheet] [data-action="cancel"]').click()
    page.wait_for_selector('body[data-result="get_brand_wcpay_request:cancel"]')
    assert sandbox.order(cancelled).trade_state == "NOTPAY"

    page.goto("/test-jsapi/forged")
    page.click("#go")
    page.get_by_text("支付验证签名失败").wait_for()  # visible before the callback
    assert page.get_attribute("body", "data-result") is None
    page.locator('[data-sandbox-pay-sheet] [data-action="close"]').click()
    page.wait_for_selector('body[data-result="get_brand_wcpay_request:fail"]')


def test_a_real_bridge_is_left_alone(app, sandbox, shop_page, page):
    _, pages = shop_page
    real = "window.WeixinJSBridge = {invoke: function () {}, real: true};"
    _jsapi_params(app, sandbox, pages, "inside-wechat", _before=real)
    page.goto("/test-jsapi/inside-wechat")
    assert page.evaluate("window.WeixinJSBridge.real") is True
    assert page.get_attribute("body", "data-ready") is None
