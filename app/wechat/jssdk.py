"""The JS-SDK's wx.config: a page inside WeChat proves it may use the SDK's share API.

The signature is SHA-1 over the JS-SDK ticket, a nonce, a timestamp and the page's exact URL
without its fragment (WeChat compares it with the address the page was loaded from, so a
page that redirected signs its final address). wechatpy computes it; the ticket comes from
the same shared store as the access token (app/wechat/official_account.py).
"""

import secrets
import time

import requests
from flask import current_app
from wechatpy.exceptions import WeChatClientException

from app.wechat import api_tokens
from app.wechat.official_account import current_client

# The share API of JS-SDK 1.4+: share to a chat, and to Moments.
SHARE_APIS = ["updateAppMessageShareData", "updateTimelineShareData"]


class TicketUnavailable(Exception):
    """WeChat did not give a JS-SDK ticket (refused, or could not be reached)."""


def signed_config(url: str) -> dict:
    client = current_client()
    nonce, timestamp = secrets.token_hex(8), int(time.time())
    try:
        ticket = client.jsapi_ticket()
    except (WeChatClientException, requests.RequestException, api_tokens.TokenUnavailable) as e:
        raise TicketUnavailable(str(e)) from e
    signature = client.jsapi.get_jsapi_signature(nonce, ticket, timestamp, url)
    return {
        "appId": current_app.config["WECHAT_APPID"],
        "timestamp": timestamp,
        "nonceStr": nonce,
        "signature": signature,
        "jsApiList": SHARE_APIS,
    }
