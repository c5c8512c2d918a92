"""Sending one of the 公众号's messages through wechatpy, the way WeChat allows (`way`):

1. a follower, when the message has a template → a template message;
2. else within 48 hours of their last interaction → a customer-service message;
3. else nothing: skipped, with the reason.

WeChat's answer becomes an Outcome: sent, skipped (WeChat's rules say no), failed (WeChat
refused for good) or retrying (busy, no answer: worth trying again later). Also here: the
account's templates as WeChat lists them, for the studio.
"""

import enum
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import requests
from wechatpy.exceptions import WeChatClientException

from app.models import MessageChannel, MessageStatus
from app.models.base import utcnow
from app.wechat import followers
from app.wechat.api_tokens import TokenUnavailable
from app.wechat.messages import Envelope
from app.wechat.official_account import ShopWeChatClient, current_client

log = logging.getLogger(__name__)

# WeChat's answers, and what becomes of the message.
TOKEN_REFUSED = {40001, 40014, 42001}
NOT_FOLLOWING = 43004
PASSING = {-1, 45009, 45011} | TOKEN_REFUSED  # busy, over a rate limit, a token refused twice
VERDICTS = {
    NOT_FOLLOWING: (MessageStatus.SKIPPED, "未关注公众号"),
    43101: (MessageStatus.SKIPPED, "对方拒收公众号的消息"),
    45015: (MessageStatus.SKIPPED, "已超出客服消息的 48 小时时限"),
    45047: (MessageStatus.SKIPPED, "客服消息条数已达上限"),
    40003: (MessageStatus.FAILED, "openid 无效：不是本公众号的用户"),
    40037: (MessageStatus.FAILED, "模板 ID 无效：请在通知设置中检查"),
}


@dataclass(frozen=True)
class Outcome:
    status: MessageStatus  # RETRYING: a passing failure, for the outbox to try again
    channel: MessageChannel | None = None  # the way sent, or last tried
    errcode: int | None = None
    reason: str = ""
    msgid: str | None = None


def client() -> ShopWeChatClient:
    """A client that leaves a refused token to `_call`: wechatpy's own retry would fetch
    again for as long as WeChat refuses."""
    wechat = current_client()
    wechat.auto_retry = False
    return wechat


class Way(enum.Enum):
    TEMPLATE = "template"
    ASK_FIRST = "ask_first"  # a template, if user/info says they follow
    CUSTOM = "custom"
    NONE = "none"


def way(has_template: bool, known: followers.Follower | None, now: datetime) -> Way:
    """The rule: a template message to a follower; else a customer-service message within
    48 hours of their last interaction; else none. Following unknown: ask first."""
    if has_template and (known is None or known.subscribed is None):
        return Way.ASK_FIRST
    if has_template and known.subscribed:
        return Way.TEMPLATE
    if known is not None and known.in_window(now):
        return Way.CUSTOM
    return Way.NONE


def send(wechat: ShopWeChatClient, envelope: Envelope) -> Outcome:
    """Send by the first way WeChat allows (see `way`). Never raises for what WeChat or the
    network does; those become the Outcome."""
    openid, has_template = envelope.openid, envelope.template is not None
    channel = MessageChannel.TEMPLATE if has_template else None
    try:
        chosen = way(has_template, followers.state(openid), utcnow())
        if chosen is Way.ASK_FIRST:
            answer = _call(wechat, lambda: wechat.user.get(openid))
            followers.record_subscribed(
                openid, isinstance(answer, dict) and answer.get("subscribe") == 1
            )
            chosen = way(has_template, followers.state(openid), utcnow())
        if chosen is Way.TEMPLATE:
            try:
                answer = _call(wechat, lambda: _send_template(wechat, envelope))
            except WeChatClientException as error:
                if error.errcode != NOT_FOLLOWING:
                    raise
                followers.record_subscribed(openid, False)  # WeChat knows better
                chosen = way(has_template, followers.state(openid), utcnow())
            else:
                msgid = answer.get("msgid") if isinstance(answer, dict) else None
                return Outcome(MessageStatus.SENT, channel, msgid=_text_or_none(msgid))
        if chosen is Way.CUSTOM:
            channel = MessageChannel.CUSTOM
            _call(wechat, lambda: wechat.message.send_text(openid, envelope.text))
            return Outcome(MessageStatus.SENT, channel)
        why = "未关注公众号" if has_template else "没有设置模板消息"
        return Outcome(MessageStatus.SKIPPED, channel, reason=f"{why}，48 小时内也没有互动")
    except WeChatClientException as error:
        return _refused(error, channel)
    except (requests.RequestException, TokenUnavailable) as error:
        log.warning("WeChat unreachable sending a message: %s", type(error).__name__)
        return Outcome(MessageStatus.RETRYING, channel, reason="连接微信失败")


def _send_template(wechat: ShopWeChatClient, envelope: Envelope):
    template = envelope.template
    return wechat.message.send_template(
        envelope.openid, template.template_id, template.data, url=template.url
    )


def _call(wechat: ShopWeChatClient, request: Callable):
    """Make the call; when WeChat calls the token invalid, refresh it once (for every
    process: app/wechat/api_tokens.py) and make it again."""
    try:
        return request()
    except WeChatClientException as error:
        if error.errcode not in TOKEN_REFUSED:
            raise
    wechat.fetch_access_token()
    return request()


def _refused(error: WeChatClientException, channel) -> Outcome:
    code = error.errcode
    said = f"（{code} {error.errmsg}）" if code is not None else ""
    if code is None:
        status, reason = MessageStatus.RETRYING, "微信没有正常答复"
    elif code in VERDICTS:
        status, reason = VERDICTS[code]
    elif code in PASSING:
        status, reason = MessageStatus.RETRYING, "微信暂时无法处理"
    else:
        status, reason = MessageStatus.FAILED, "微信拒绝了这条消息"
    return Outcome(status, channel, errcode=code, reason=(reason + said)[:200])


@dataclass(frozen=True)
class AccountTemplate:
    template_id: str
    title: str
    keys: list[tuple[str, str]]  # (key, what the template calls it)


class TemplatesUnavailable(Exception):
    """WeChat did not list the account's templates; the message is for the creator."""


# One line of a template's content: "商品名称：{{thing1.DATA}}" (the label may be missing).
_CONTENT_KEY = re.compile(r"([^\n{}:：]*)[:：]?\s*\{\{\s*([a-z_]+[0-9]{1,2})\.DATA\s*\}\}")


def account_templates() -> list[AccountTemplate]:
    """The templates the 公众号 has added (公众号后台 → 模板消息 → 我的模板), with their keys:
    what the studio shows while the creator maps facts to keys."""
    wechat = client()
    try:
        answer = _call(wechat, wechat.template.get_all_private_template)
    except WeChatClientException as error:
        raise TemplatesUnavailable(f"微信没有列出模板（{error.errcode} {error.errmsg}）") from None
    except (requests.RequestException, TokenUnavailable):
        raise TemplatesUnavailable("连接微信失败，请稍后再试") from None
    listed = answer.get("template_list", []) if isinstance(answer, dict) else []
    return [
        AccountTemplate(
            template_id=str(entry.get("template_id", "")),
            title=str(entry.get("title", "")),
            keys=[
                (key, label.strip())
                for label, key in _CONTENT_KEY.findall(str(entry.get("content", "")))
            ],
        )
        for entry in listed
        if isinstance(entry, dict)
    ]


def _text_or_none(value) -> str | None:
    return None if value in (None, "") else str(value)
