"""WeChat web OAuth (网页授权) through wechatpy, pointed at WeChat or at the sandbox."""

import requests
from flask import current_app, url_for
from wechatpy.exceptions import WeChatOAuthException
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


class OAuthFailed(Exception):
    """WeChat refused a code or could not be asked. The message is safe to log: the token
    call's URL carries the AppSecret, and network errors put their URL in their text, so
    none of theirs is kept (not even as the cause). `reader_message` is for the page."""

    def __init__(self, message: str, reader_message: str):
        super().__init__(message)
        self.reader_message = reader_message


def exchange_code(client: WeChatOAuth, code: str) -> tuple[dict, dict]:
    """The access token for an authorisation code, and the reader's profile when the scope
    allows it (empty otherwise)."""
    try:
        token = client.fetch_access_token(code)
        info = client.get_user_info() if client.scope == SCOPE_USERINFO else {}
    except WeChatOAuthException as error:
        status = error.response.status_code if error.response is not None else None
        raise OAuthFailed(
            f"WeChat refused: errcode={error.errcode} errmsg={error.errmsg} http={status}",
            "微信授权没有成功，请重新进入",
        ) from None
    except requests.RequestException as error:
        raise OAuthFailed(
            f"WeChat could not be reached: {type(error).__name__}", "暂时连不上微信，请稍后重试"
        ) from None
    except ValueError:  # an answer that is not JSON: a proxy's error page, a cut-off body
        raise OAuthFailed(
            "WeChat answered with something that is not JSON", "微信暂时没有响应，请稍后重试"
        ) from None
    if not token.get("openid"):
        raise OAuthFailed("WeChat's token has no openid", "微信授权没有成功，请重新进入")
    return token, info
