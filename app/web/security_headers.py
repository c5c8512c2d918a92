"""The headers every answer carries: what the browser may run, frame, sniff, refer and keep.

One after_request hook, so pages, error pages, files and cached anonymous pages (served from
a before_request hook, which after_request still sees) all get the same headers.
"""

from urllib.parse import urlsplit

from flask import Flask, current_app, request
from werkzeug.wrappers import Response


# Every script is a file the shop serves (app/static/js, the studio's copy of plotly, the
# sandbox's WeixinJSBridge and JS-SDK stand-ins); data for scripts sits in <script
# type="application/json">, which is never executed. No asset comes from the internet, but for
# one live exception: inside WeChat, pages load WeChat's JS-SDK from WeChat (share cards need
# it, and WeChat's browser serves it itself).
# - img-src: readers' WeChat avatars live on WeChat's image hosts; data: for images that
#   scripts and stylesheets draw inline (plotly's icons).
# - media-src blob: hls.js plays HLS through Media Source Extensions, whose source is a blob:
#   address (app/static/js/player.js).
# - style-src 'unsafe-inline': the sanitised Markdown keeps `style="text-align: ..."` on table
#   cells (nh3 allows that property alone), and plotly writes a <style> element for its
#   own rules. Styles cannot run code; scripts stay strict.
# - no form-action: Chrome applies it to the redirect after a form is sent, and the buy form's
#   answer sends a phone browser on to WeChat's H5 cashier (wx.tenpay.com).
# - frame-ancestors 'none': nothing in the shop is meant to be framed, and a framed buy button
#   or studio page is how clickjacking works. X-Frame-Options says the same to old browsers.
def content_security_policy(script_origins: tuple[str, ...] = ()) -> str:
    return "; ".join(
        (
            "default-src 'self'",
            " ".join(("script-src 'self'", *script_origins)),
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: https://thirdwx.qlogo.cn https://wx.qlogo.cn",
            "media-src 'self' blob:",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        )
    )


# strict-origin-when-cross-origin never sends a path (where order numbers are) to another
# site, but still sends the shop's origin: WeChat's H5 cashier refuses a payer whose Referer
# is not the merchant's registered domain, so the pay pages cannot say no-referrer.
REFERRER_POLICY = "strict-origin-when-cross-origin"

# What is one person's and must not stay in a shared or back-button cache: the studio, the pay
# and tip pages and the reader's own orders (checkout), the JSON API, the reader's sign-in
# pages, and what a buyer reads or downloads.
PRIVATE_BLUEPRINTS = {"studio", "checkout", "api", "accounts", "sandbox", "sharing"}
PRIVATE_ENDPOINTS = {
    "storefront.read",
    "storefront.section",
    "storefront.download",
    "storefront.library",
    # The player's playlists, key and reports (segments are encrypted: the browser may keep
    # them; app/media/views.py).
    "media.master",
    "media.rendition",
    "media.key",
    "media.state",
    "media.report",
    "media.course_progress",
}
# Versioned public assets inside private blueprints keep their long caching.
LONG_LIVED_ENDPOINTS = {"studio.plotly_js", "sandbox.avatar", "accounts.avatar"}


def init_app(app: Flask) -> None:
    sdk = urlsplit(app.config["WECHAT_JSSDK_URL"])
    live = not app.config["WECHAT_SANDBOX"]
    app.extensions["content_security_policy"] = content_security_policy(
        (f"{sdk.scheme}://{sdk.netloc}",) if live else ()
    )
    app.after_request(add_security_headers)


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    headers["Content-Security-Policy"] = current_app.extensions["content_security_policy"]
    headers["X-Frame-Options"] = "DENY"
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = REFERRER_POLICY
    if _is_private(request.endpoint):
        headers["Cache-Control"] = "private, no-store"
        headers.pop("Expires", None)
    elif "Cache-Control" not in headers and _has_session(response):
        # A signed-in reader's page shows what they own and where they are: never a shared
        # cache's (a proxy, a CDN) to hand to someone else.
        headers["Cache-Control"] = "private"
    return response


def _has_session(response: Response) -> bool:
    cookie = current_app.config["SESSION_COOKIE_NAME"]
    return cookie in request.cookies or "Set-Cookie" in response.headers


def _is_private(endpoint: str | None) -> bool:
    if endpoint is None or endpoint in LONG_LIVED_ENDPOINTS:
        return False
    blueprint = endpoint.rpartition(".")[0]
    return blueprint in PRIVATE_BLUEPRINTS or endpoint in PRIVATE_ENDPOINTS
