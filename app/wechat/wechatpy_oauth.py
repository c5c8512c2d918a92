"""WeChat web OAuth through wechatpy's WeChatOAuth, behind the OAuthProvider interface.

Pointed at WeChat, or at the sandbox when it is on: the browser's authorize page on the
shop's own address, the server-to-server calls in-process (app/wechat/transport.py).
wechatpy's quirks (docs/wechat-protocol.md §8) are handled here and nowhere else.
"""

import requests
from flask import Flask, url_for
from wechatpy.exceptions import WeChatOAuthException
from wechatpy.oauth import WeChatOAuth

from app.wechat.oauth import (
    SCOPE_BASE,
    SCOPE_USERINFO,
    OAuthFailed,
    WeChatUser,
    real_avatar_url,
    real_nickname,
)
from app.wechat.transport import IN_PROCESS_ORIGIN, http_session


class WechatpyOAuth:
    def __init__(self, app: Flask):
        self.app = app

    def client(self, redirect_uri: str, scope: str = SCOPE_BASE, state: str = "") -> WeChatOAuth:
        """A fresh client per use: wechatpy stores the fetched token on the instance."""
        config = self.app.config
        client = WeChatOAuth(
            config["WECHAT_APPID"], config["WECHAT_APP_SECRET"], redirect_uri, scope, state
        )
        client._http = http_session(self.app)  # time-outs, and the in-process route to the sandbox
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

    def authorize_url(self, redirect_uri: str, scope: str, state: str) -> str:
        url = self.client(redirect_uri, scope, state).authorize_url
        if self.app.config["WECHAT_SANDBOX"]:
            # "#wechat_redirect" is a signal to WeChat's own client. An ordinary browser would
            # carry the fragment through every redirect and leave it on the shop's URL.
            url = url.split("#", 1)[0]
        return url

    def exchange(self, code: str, scope: str) -> WeChatUser:
        # The token call sends no redirect_uri: the client needs none.
        client = self.client("", scope)
        try:
            token = client.fetch_access_token(code)
            snapshot = _is_snapshot_user(token)
            info = client.get_user_info() if scope == SCOPE_USERINFO and not snapshot else {}
        except WeChatOAuthException as error:
            status = error.response.status_code if error.response is not None else None
            raise OAuthFailed(
                f"WeChat refused: errcode={error.errcode} errmsg={error.errmsg} http={status}",
                "微信授权没有成功，请重新进入",
            ) from None
        except requests.RequestException as error:
            raise OAuthFailed(
                f"WeChat could not be reached: {type(error).__name__}",
                "暂时连不上微信，请稍后重试",
            ) from None
        except ValueError:  # an answer that is not JSON: a proxy's error page, a cut-off body
            raise OAuthFailed(
                "WeChat answered with something that is not JSON", "微信暂时没有响应，请稍后重试"
            ) from None
        except (KeyError, TypeError):  # JSON, but not a token: wechatpy reads every field
            raise OAuthFailed(
                "WeChat answered with JSON that is not a token", "微信暂时没有响应，请稍后重试"
            ) from None
        if not isinstance(info, dict):
            raise OAuthFailed(
                "WeChat answered with user info that is not an object",
                "微信暂时没有响应，请稍后重试",
            )
        if not token.get("openid"):
            raise OAuthFailed("WeChat's token has no openid", "微信授权没有成功，请重新进入")
        if snapshot:
            # A snapshot page's openid, unionid, name and picture are a stand-in's: keep none.
            return WeChatUser(openid=token["openid"], is_snapshot_user=True)
        return WeChatUser(
            openid=token["openid"],
            unionid=info.get("unionid") or token.get("unionid"),
            nickname=real_nickname(info.get("nickname")),
            avatar_url=real_avatar_url(info.get("headimgurl")),
        )


def _is_snapshot_user(token: dict) -> bool:
    """WeChat marks a snapshot page's stand-in with is_snapshotuser=1 and leaves the field out
    otherwise. Any other value in it counts as a yes: binding a stand-in is the mistake to avoid."""
    return token.get("is_snapshotuser") not in (None, 0, "0")
