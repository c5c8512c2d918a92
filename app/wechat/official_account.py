"""The Official Account's server API (menu, JS-SDK ticket, ...) through wechatpy's WeChatClient.

Pointed at WeChat, or at the sandbox in-process when it is on (app/wechat/transport.py). Its
access token comes from app/wechat/api_tokens.py, shared by every process, instead of
wechatpy's per-instance cache. wechatpy's quirks are handled here and nowhere else:

- `fetch_access_token` hard-codes api.weixin.qq.com: it is rebuilt on API_BASE_URL;
- after WeChat calls a token invalid, wechatpy calls `fetch_access_token` and reads the
  token from its session storage: the refreshed token is put there for it.
"""

from flask import Flask, current_app, url_for
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

from app.wechat import api_tokens
from app.wechat.transport import IN_PROCESS_ORIGIN, http_session

WECHAT_API_BASE = "https://api.weixin.qq.com/cgi-bin/"


class ShopWeChatClient(WeChatClient):
    def __init__(self, app: Flask):
        config = app.config
        super().__init__(
            config["WECHAT_APPID"],
            config["WECHAT_APP_SECRET"],
            timeout=config["WECHAT_HTTP_TIMEOUT"],
        )
        self._http = http_session(app)  # time-outs, and the in-process route to the sandbox
        self.API_BASE_URL = api_base_url(app)
        self._last_token: str | None = None

    @property
    def access_token(self) -> str:
        self._last_token = api_tokens.current(self.access_token_key, self._fetch)
        return self._last_token

    def fetch_access_token(self) -> None:
        """wechatpy's hook after WeChat refused the token: refresh it (once for all processes)."""
        token = api_tokens.refresh(self.access_token_key, self._fetch, stale=self._last_token)
        self._last_token = token
        self.session.set(self.access_token_key, token)

    def jsapi_ticket(self) -> str:
        """The JS-SDK ticket, kept as the access token is (wechatpy's get_jsapi_ticket would
        cache it per process)."""
        return api_tokens.current(f"{self.appid}_jsapi_ticket", self._fetch_jsapi_ticket)

    def _fetch_jsapi_ticket(self) -> tuple[str, int]:
        answer = self.jsapi.get_ticket("jsapi")
        return answer["ticket"], int(answer.get("expires_in", 7200))

    def _fetch(self) -> tuple[str, int]:
        answer = self._http.get(
            self.API_BASE_URL + "token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
            timeout=self.timeout,
        )
        answer.raise_for_status()
        result = answer.json()
        if result.get("errcode"):
            raise WeChatClientException(result["errcode"], result.get("errmsg"), client=self)
        return result["access_token"], int(result.get("expires_in", 7200))


def api_base_url(app: Flask) -> str:
    config = app.config
    if config["WECHAT_API_BASE_URL"]:
        return config["WECHAT_API_BASE_URL"].rstrip("/") + "/cgi-bin/"
    if config["WECHAT_SANDBOX"]:
        with app.test_request_context():
            return IN_PROCESS_ORIGIN + url_for("sandbox.index") + "api/cgi-bin/"
    return WECHAT_API_BASE


def current_client() -> ShopWeChatClient:
    return ShopWeChatClient(current_app._get_current_object())
