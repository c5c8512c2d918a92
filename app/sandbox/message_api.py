"""The sandbox's side of the 公众号's messages: template messages, customer-service messages,
user/info, the account's templates, and a page that shows what was sent.

Answers as WeChat does, from what the sandbox knows of its test users (SandboxFollower, kept
by the follower page through official_account.set_following and record_interaction):
- message/template/send: 40003 for a user the account does not know, 40037 for a template the
  account has not added, 43004 for a user who does not follow it, 43101 for a follower who
  turned its messages off, 47003 for a value the key's type does not take (the category
  templates' rules: a `thing` of at most 20 characters, an `amount` like ¥9.90, ...);
  keys the template lacks (such as the old first / remark) are taken and not shown;
- message/custom/send: 45015 outside 48 hours from the user's last interaction, or once they
  unfollowed; 45047 after 20 messages in one window;
- user/info: `subscribe` 1 or 0.

Every message taken is kept as the bytes sent (SandboxSentMessage). `fail_next` makes the next
sends answer an error (WeChat busy, -1), for trying the shop's retries.
"""

import json
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, render_template, request

from app.extensions import csrf, db
from app.models.base import utcnow
from app.sandbox import bp
from app.sandbox.models import SandboxFollower, SandboxSentMessage, SandboxUser
from app.sandbox.official_account import error_answer, follower, token_error
from app.sandbox.views import json_response
from app.transactions import begin_write

WINDOW = timedelta(hours=48)
CUSTOM_PER_WINDOW = 20


@dataclass(frozen=True)
class SandboxTemplate:
    template_id: str
    title: str
    keys: tuple[tuple[str, str], ...]  # (key, what the template calls it)

    @property
    def content(self) -> str:
        """As WeChat lists a template's content."""
        return "\n".join(f"{label}:{{{{{key}.DATA}}}}" for key, label in self.keys)


# The templates the sandbox account has added (公众号后台 → 模板消息 → 我的模板).
TEMPLATES = {
    template.template_id: template
    for template in (
        SandboxTemplate(
            "sandbox-purchase-notice",
            "购买成功通知",
            (
                ("thing1", "商品名称"),
                ("amount2", "支付金额"),
                ("time3", "支付时间"),
                ("character_string4", "订单编号"),
            ),
        ),
        SandboxTemplate(
            "sandbox-tip-notice",
            "赞赏成功通知",
            (
                ("thing1", "赞赏对象"),
                ("amount2", "赞赏金额"),
                ("time3", "赞赏时间"),
                ("character_string4", "订单编号"),
            ),
        ),
        SandboxTemplate(
            "sandbox-new-order-notice",
            "新订单通知",
            (
                ("thing1", "商品名称"),
                ("amount2", "订单金额"),
                ("time3", "支付时间"),
                ("character_string4", "订单编号"),
                ("thing5", "客户"),
                ("phrase6", "订单类型"),
            ),
        ),
        SandboxTemplate(
            "sandbox-membership-ending",
            "会员到期提醒",
            (("thing1", "会员名称"), ("time2", "到期时间")),
        ),
    )
}

# What each key type takes (the category templates' rules).
_VALUE_RULES = {
    "thing": re.compile(r".{1,20}", re.S),
    "character_string": re.compile(r"[\x21-\x7e]{1,32}"),
    "amount": re.compile(r"[¥￥$]?[0-9]{1,10}(\.[0-9]{1,2})?元?"),
    "time": re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}( [0-9]{2}:[0-9]{2}(:[0-9]{2})?)?"),
    "phrase": re.compile(r"[\u4e00-\u9fff]{1,5}"),
    "number": re.compile(r"[0-9]{1,32}(\.[0-9]+)?"),
}
_KEY = re.compile(r"([a-z_]+?)[0-9]{1,2}")
_FAULTS = "sandbox_message_faults"


def fail_next(errcode: int = -1, errmsg: str = "system error", times: int = 1) -> None:
    """Make the next `times` template or customer-service sends answer this error."""
    current_app.extensions.setdefault(_FAULTS, []).extend([(errcode, errmsg)] * times)


def _injected_fault():
    faults = current_app.extensions.get(_FAULTS)
    return error_answer(*faults.pop(0)) if faults else None


def sent_messages(limit: int = 50) -> list[SandboxSentMessage]:
    return list(
        db.session.scalars(
            sa.select(SandboxSentMessage).order_by(SandboxSentMessage.id.desc()).limit(limit)
        )
    )


def _known(openid: str) -> bool:
    found = db.session.scalar(sa.select(SandboxUser.id).where(SandboxUser.openid == openid))
    return found is not None or follower(openid) is not None


def _json_body():
    try:
        body = json.loads(request.get_data())
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _record(kind: str, body: dict, msgid: int | None = None) -> None:
    begin_write()
    db.session.add(
        SandboxSentMessage(
            kind=kind,
            touser=str(body.get("touser", ""))[:64],
            template_id=str(body["template_id"])[:64] if "template_id" in body else None,
            body=request.get_data(),
            msgid=msgid,
        )
    )
    db.session.commit()


def _value_problem(template: SandboxTemplate, data) -> str | None:
    if not isinstance(data, dict):
        return "argument invalid! data invalid"
    keys = {key for key, _ in template.keys}
    for key, entry in data.items():
        if key not in keys:
            continue  # WeChat takes keys the template lacks and shows nothing of them
        value = entry.get("value") if isinstance(entry, dict) else None
        match = _KEY.fullmatch(key)
        rule = _VALUE_RULES.get(match.group(1)) if match else None
        if not isinstance(value, str) or (rule is not None and not rule.fullmatch(value)):
            return f"argument invalid! data.{key}.value invalid"
    return None


def _addressed_message():
    """(body, touser, None) for a message send WeChat would read, else (.., .., its refusal):
    the token, a JSON body, and a recipient WeChat knows, checked as WeChat checks them."""
    refused = token_error()
    if refused is not None:
        return None, "", refused
    body = _json_body()
    if body is None:
        return None, "", error_answer(47001, "data format error")
    touser = str(body.get("touser", ""))
    if not _known(touser):
        return body, touser, error_answer(40003, "invalid openid")
    return body, touser, None


@bp.post("/api/cgi-bin/message/template/send")
@csrf.exempt  # server to server: the access token is the credential
def message_template_send():
    body, touser, refused = _addressed_message()
    if refused is not None:
        return refused
    template = TEMPLATES.get(body.get("template_id"))
    if template is None:
        return error_answer(40037, "invalid template_id")
    standing = follower(touser)
    if standing is None or not standing.following:
        return error_answer(43004, "require subscribe")
    if standing.refuses_messages:
        return error_answer(43101, "user refuse to accept the msg")
    problem = _value_problem(template, body.get("data"))
    if problem:
        return error_answer(47003, problem)
    fault = _injected_fault()
    if fault is not None:
        return fault
    msgid = secrets.randbelow(9 * 10**17) + 10**17
    _record("template", body, msgid)
    return json_response({"errcode": 0, "errmsg": "ok", "msgid": msgid})


@bp.post("/api/cgi-bin/message/custom/send")
@csrf.exempt
def message_custom_send():
    body, touser, refused = _addressed_message()
    if refused is not None:
        return refused
    if body.get("msgtype") != "text" or not isinstance(body.get("text"), dict):
        return error_answer(40008, "invalid message type")
    standing = follower(touser)
    since = standing.last_interaction_at if standing is not None else None
    unfollowed = standing is not None and not standing.following and standing.followed_at
    if since is None or utcnow() - since >= WINDOW or unfollowed:
        return error_answer(45015, "response out of time limit or subscription is canceled")
    sent_since = db.session.scalar(
        sa.select(sa.func.count()).where(
            SandboxSentMessage.kind == "custom",
            SandboxSentMessage.touser == touser,
            SandboxSentMessage.created_at >= since,
        )
    )
    if sent_since >= CUSTOM_PER_WINDOW:
        return error_answer(45047, "out of response count limit")
    fault = _injected_fault()
    if fault is not None:
        return fault
    _record("custom", body)
    return error_answer(0, "ok")


@bp.get("/api/cgi-bin/user/info")
def cgi_user_info():
    refused = token_error()
    if refused is not None:
        return refused
    openid = request.args.get("openid", "")
    if not _known(openid):
        return error_answer(40003, "invalid openid")
    standing = follower(openid)
    if standing is None or not standing.following:
        return json_response({"subscribe": 0, "openid": openid, "tagid_list": []})
    return json_response(
        {
            "subscribe": 1,
            "openid": openid,
            "language": "zh_CN",
            "subscribe_time": int(standing.followed_at.timestamp()) if standing.followed_at else 0,
            "remark": "",
            "groupid": 0,
            "tagid_list": [],
            "subscribe_scene": "ADD_SCENE_QR_CODE",
            "qr_scene": 0,
            "qr_scene_str": "",
        }
    )


@bp.get("/api/cgi-bin/template/get_all_private_template")
def private_templates():
    refused = token_error()
    if refused is not None:
        return refused
    return json_response(
        {
            "template_list": [
                {
                    "template_id": template.template_id,
                    "title": template.title,
                    "primary_industry": "IT科技",
                    "deputy_industry": "互联网|电子商务",
                    "content": template.content,
                    "example": "",
                }
                for template in TEMPLATES.values()
            ]
        }
    )


# --- what a developer sees ----------------------------------------------------------------------


@dataclass(frozen=True)
class ShownMessage:
    sent: SandboxSentMessage
    nickname: str
    title: str  # the template's, or 客服消息
    lines: list[tuple[str, str, bool]]  # (label, value, shown by WeChat)
    url: str
    text: list[tuple[str, str | None]]  # a text message as WeChat shows it: (words, link)


# WeChat shows <a href="...">words</a> in a text message as a link, and the rest as it is.
_LINK = re.compile(r'<a href="([^"]*)">(.*?)</a>', re.S)


def _as_shown(content: str) -> list[tuple[str, str | None]]:
    parts, start = [], 0
    for link in _LINK.finditer(content):
        parts += [(content[start : link.start()], None), (link.group(2), link.group(1))]
        start = link.end()
    return [*parts, (content[start:], None)]


def _shown(sent: SandboxSentMessage, nicknames: dict[str, str]) -> ShownMessage:
    body = json.loads(sent.body)
    nickname = nicknames.get(sent.touser, sent.touser)
    if sent.kind == "custom":
        text = _as_shown(body["text"].get("content", ""))
        return ShownMessage(sent, nickname, "客服消息", [], "", text)
    template = TEMPLATES[sent.template_id]
    labels = dict(template.keys)
    data = body.get("data") or {}
    lines = [(labels[key], _value(data[key]), True) for key, _ in template.keys if key in data]
    lines += [(key, _value(entry), False) for key, entry in data.items() if key not in labels]
    return ShownMessage(sent, nickname, template.title, lines, body.get("url", ""), [])


def _value(entry) -> str:
    return str(entry.get("value", "")) if isinstance(entry, dict) else str(entry)


@bp.get("/messages")
def messages_page():
    nicknames = dict(db.session.execute(sa.select(SandboxUser.openid, SandboxUser.nickname)).all())
    followers = list(
        db.session.scalars(sa.select(SandboxFollower).order_by(SandboxFollower.openid))
    )
    return render_template(
        "sandbox/messages.html",
        messages=[_shown(sent, nicknames) for sent in sent_messages()],
        templates=list(TEMPLATES.values()),
        followers=followers,
        nicknames=nicknames,
        window=WINDOW,
        now=utcnow(),
    )
