"""WeChat web OAuth (网页授权) through wechatpy, pointed at WeChat or at the sandbox."""

from flask import current_app, url_for
from wechatpy.oauth import WeChatOAuth

from app.wechat.transport import IN_PROCESS_ORIGIN, http_session

SCOPE_BASE = "snsapi_base"
SCOPE_USERINFO = "snsapi_userinfo"


def oauth_client(redirect_uri: str, scope: str = SCOPE_BASE, state: str = "") -> WeChatOAuth:
    """A fresh client per use: wechatpy stores the fetched token on the instance."""
    app = current_app._get_current_object()
    config = app.config
    client = WeChatOAuth(
        config["WECHAT_APPID"], config["WECHAT_APP_SECRET"], redirect_uri, scope, state
    )
    client._http = http_session(app)  # time-outs, and the in-process route to the sandbox
    if config["WECHAT_OAUTH_BASE_URL"]:
        client.OAUTH_BASE_URL = config["WECHAT_OAUTH_BASE_URL"]
    elif config["WECHAT_SANDBOX"]:
        # The browser opens this one, so it is the shop's own public address.
        client.OAUTH_BASE_URL = url_for("sandbox.index", _external=True) + "open/connect/"
    if config["WECHAT_API_BASE_URL"]:
        client.API_BASE_URL = config["WECHAT_API_BASE_URL"]
    elif config["WECHAT_SANDBOX"]:
        client.API_BASE_URL = IN_PROCESS_ORIGIN + url_for("sandbox.index") + "api/"
    return client
