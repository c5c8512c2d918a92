"""WeChat web OAuth (网页授权): what the shop needs from it to sign a reader in.

Views depend on this, never on wechatpy, as they depend on app/payments/gateway.py for
payments. The implementation, through wechatpy and pointed at WeChat or at the sandbox, is
app/wechat/wechatpy_oauth.py; `current_oauth()` picks it.
"""

from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from flask import current_app

SCOPE_BASE = "snsapi_base"
SCOPE_USERINFO = "snsapi_userinfo"

# What WeChat sends instead of a reader's own name and picture, since it stopped describing
# readers: this name, and a grey picture whose URL carries this image id (then a size).
PLACEHOLDER_NICKNAME = "微信用户"
DEFAULT_AVATAR_ID = (
    "POgEwh4mIHO4nibH0KlMECNjjGxQUq24ZEaGT4poC6icRiccVGKSyXwibcPq4BWmiaIGuG1icwxaQX6grC9VemZoJ8rg"
)


class OAuthFailed(Exception):
    """WeChat refused a code or could not be asked. The message is safe to log: the token
    call's URL carries the AppSecret, and network errors put their URL in their text, so
    none of theirs is kept (not even as the cause). `reader_message` is for the page."""

    def __init__(self, message: str, reader_message: str):
        super().__init__(message)
        self.reader_message = reader_message


@dataclass(frozen=True)
class WeChatUser:
    """Who WeChat says signed in; name and avatar only with snsapi_userinfo, and only real
    ones (never WeChat's placeholders).

    `is_snapshot_user`: WeChat showed the page as a 朋友圈 snapshot page (快照页). Its openid
    (and anything else it says) then stands in for a person WeChat will not name: it is
    nobody's, and must never be bound to a reader.
    """

    openid: str
    unionid: str | None = None
    nickname: str | None = None
    avatar_url: str | None = None
    is_snapshot_user: bool = False


def real_nickname(nickname: str | None) -> str | None:
    """WeChat's nickname, or None for none or its placeholder."""
    return nickname if nickname and nickname != PLACEHOLDER_NICKNAME else None


def real_avatar_url(url: str | None) -> str | None:
    """WeChat's picture, or None for none or its grey default."""
    if not url or DEFAULT_AVATAR_ID in urlsplit(url).path.split("/"):
        return None
    return url


class OAuthProvider(Protocol):
    def authorize_url(self, redirect_uri: str, scope: str, state: str) -> str:
        """Where to send the reader's browser. `state` goes into the URL unescaped, so it
        must be URL-safe (the shop uses a hex token)."""
        ...

    def exchange(self, code: str, scope: str) -> WeChatUser:
        """The reader behind an authorisation code, with name and avatar when `scope` is
        snsapi_userinfo. Raises OAuthFailed for every failure."""
        ...


def current_oauth() -> OAuthProvider:
    """The OAuth provider for this app's configuration, built once per process.

    It keeps nothing between calls but the app: each call makes its own client."""
    from app.wechat.wechatpy_oauth import WechatpyOAuth

    app = current_app._get_current_object()
    provider = app.extensions.get("wechat_oauth")
    if provider is None:
        provider = app.extensions["wechat_oauth"] = WechatpyOAuth(app)
    return provider
