"""A follower in the 公众号's chat: what WeChat pushes to the shop's server URL when someone
follows, writes, presses a menu button or scans a parametric QR code, and the shop's answer
read back the way the chat shows it.

Each message is WeChat's XML, signed with the account's Token (signature, timestamp and
nonce on the query) and, when an EncodingAESKey is set, sealed for safe mode with wechatpy's
WeChatCrypto; it is posted in-process (in_process.py) to the server URL the caller names.
The answer is opened again (its msg_signature checked, as WeChat does) and kept with the
message, so the follower page shows the conversation and the raw XML both ways.

Where it differs from WeChat: one follower's messages get CreateTimes at least a second
apart. The shop tells events apart by sender and CreateTime (they have no MsgId), so two
presses within one second would otherwise read as one event sent twice.
"""

import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlencode

import sqlalchemy as sa
import xmltodict
from flask import current_app
from wechatpy.crypto import WeChatCrypto

from app.extensions import db
from app.sandbox import in_process
from app.sandbox import official_account as account
from app.sandbox.models import SandboxFollowerMessage
from app.sandbox.sharing import scene_for_ticket
from app.transactions import begin_write

MAX_TEXT = 600  # characters a follower may type into one message here
MAX_SCENE = 64  # WeChat's longest scene_str
CONVERSATION_LENGTH = 50
SCAN_BUTTONS = {"scancode_push", "scancode_waitmsg"}
NOTHING = "success"  # what a server answers that has nothing to say (or an empty body)


class Refused(Exception):
    """What WeChat's app would not let the follower do; the message says why."""


@dataclass(frozen=True)
class Card:
    title: str
    description: str
    picture: str
    url: str


@dataclass(frozen=True)
class Reply:
    """The shop's answer as the chat shows it: kind is text, news, none (the shop said
    nothing), other (a reply the page does not draw) or failed (the follower would see
    WeChat's "该公众号暂时无法提供服务"); text says what, for all but news."""

    kind: str
    text: str = ""
    cards: tuple[Card, ...] = ()


@dataclass(frozen=True)
class Exchange:
    message: SandboxFollowerMessage
    reply: Reply


def original_id() -> str:
    """The account's 原始ID (gh_...), which WeChat sends as ToUserName."""
    return "gh_" + hashlib.sha1(current_app.config["WECHAT_APPID"].encode()).hexdigest()[:12]


# --- what a follower does --------------------------------------------------------------------
# Each action's `step` runs under the write lock: it checks what WeChat's app would allow,
# changes the follower's state, and says what to push: (summary for the chat, XML fields).


def follow(openid: str, server_url: str) -> SandboxFollowerMessage:
    def step():
        if account.is_following(openid):
            raise Refused("已经关注了")
        account.set_following(openid, True)
        return "关注了公众号", {"Event": "subscribe"}

    return _push(openid, server_url, "event", step)


def unfollow(openid: str, server_url: str) -> SandboxFollowerMessage:
    def step():
        _must_follow(openid)
        account.set_following(openid, False)
        return "取消了关注", {"Event": "unsubscribe"}

    return _push(openid, server_url, "event", step)


def send_text(openid: str, content: str, server_url: str) -> SandboxFollowerMessage:
    if len(content) > MAX_TEXT:
        raise Refused(f"一条消息最多 {MAX_TEXT} 字")
    content = content.strip()
    if not content:
        raise Refused("消息不能为空")

    def step():
        _interact(openid)
        # A message's MsgId is a 64-bit number; the shop answers each MsgId once.
        return content, {"Content": content, "MsgId": secrets.randbelow(9 * 10**18) + 10**18}

    return _push(openid, server_url, "text", step)


def press_button(
    openid: str, button: dict, server_url: str, scanned: str = ""
) -> SandboxFollowerMessage:
    """Press a button of the pushed menu (see button_at); a scan button needs what was scanned.
    A view button's event is sent here; opening its link is the caller's."""
    kind, name = button.get("type"), button.get("name", "")
    scanned = scanned.strip()
    if kind in SCAN_BUTTONS and not 0 < len(scanned) <= MAX_TEXT:
        raise Refused(f"请填写扫到的内容（{MAX_TEXT} 字以内）")
    if kind not in SCAN_BUTTONS | {"click", "view"}:
        raise Refused(f"沙箱还不能模拟「{name}」这类按钮（{kind}）")

    def step():
        if kind == "view":
            # Opening a page is no interaction by WeChat's rules: it opens no message window.
            _must_follow(openid)
            return f"打开菜单链接「{name}」", {"Event": "VIEW", "EventKey": button.get("url", "")}
        _interact(openid)
        if kind == "click":
            return f"点击菜单「{name}」", {"Event": "CLICK", "EventKey": button.get("key", "")}
        return f"用菜单「{name}」扫码：{scanned}", {
            "Event": kind,
            "EventKey": button.get("key", ""),
            "ScanCodeInfo": {"ScanType": "qrcode", "ScanResult": scanned},
        }

    return _push(openid, server_url, "event", step)


@dataclass(frozen=True)
class QRCode:
    """A parametric QR code (qrcode/create): its scene (scene_str or scene_id) and ticket."""

    scene: str
    ticket: str


def code_with_scene(scene: str) -> QRCode:
    """The code a scene typed by hand stands for: one the shop made with that scene. Its
    ticket, which WeChat sends along with the scene, is made up here."""
    scene = scene.strip()
    if not 0 < len(scene) <= MAX_SCENE or not scene.isprintable():
        raise Refused(f"场景值应为 1 到 {MAX_SCENE} 个字符")
    return QRCode(scene, "gQ" + secrets.token_urlsafe(36))  # shaped like WeChat's tickets


def code_with_ticket(ticket: str) -> QRCode:
    """The code the sandbox made (qrcode/create) with this ticket, as a phone scans it."""
    scene = scene_for_ticket(ticket.strip())
    if scene is None:
        raise Refused("这个二维码不存在或已过期")
    return QRCode(scene, ticket.strip())


def scan_qr_code(openid: str, code: QRCode, server_url: str) -> SandboxFollowerMessage:
    """Someone not following is asked to follow, and WeChat pushes `subscribe` with EventKey
    `qrscene_<scene>`; a follower's scan pushes `SCAN` with EventKey `<scene>`. Both carry
    the code's Ticket."""

    def step():
        summary = f"扫描带参数二维码（场景 {code.scene}）"
        if account.is_following(openid):
            account.record_interaction(openid)
            return summary, {"Event": "SCAN", "EventKey": code.scene, "Ticket": code.ticket}
        account.set_following(openid, True)
        key = f"qrscene_{code.scene}"
        return summary + "并关注", {"Event": "subscribe", "EventKey": key, "Ticket": code.ticket}

    return _push(openid, server_url, "event", step)


def _must_follow(openid: str) -> None:
    if not account.is_following(openid):
        raise Refused("请先关注公众号")


def _interact(openid: str) -> None:
    _must_follow(openid)
    account.record_interaction(openid)


# --- the menu --------------------------------------------------------------------------------


def pushed_menu() -> dict | None:
    """The menu the shop last pushed to the sandbox (menu/create), or None."""
    body = account.pushed_menu_body()
    return json.loads(body) if body is not None else None


def button_at(menu: dict | None, path: str) -> dict | None:
    """The button at "1" (the second top button) or "1.0" (its first sub-button)."""
    try:
        steps = [int(step) for step in path.split(".")]
    except ValueError:
        return None
    if not menu or not 1 <= len(steps) <= 2 or min(steps) < 0:
        return None
    buttons = menu.get("button") or []
    for depth, step in enumerate(steps):
        if step >= len(buttons) or not isinstance(buttons[step], dict):
            return None
        button = buttons[step]
        buttons = button.get("sub_button") or []
        if depth == len(steps) - 1:
            return None if buttons else button  # a sub-menu's title is no button
    return None


# --- the conversation ------------------------------------------------------------------------


def conversation(openid: str) -> list[Exchange]:
    """The follower's latest messages and the shop's answers, oldest first."""
    latest = db.session.scalars(
        sa.select(SandboxFollowerMessage)
        .where(SandboxFollowerMessage.openid == openid)
        .order_by(SandboxFollowerMessage.id.desc())
        .limit(CONVERSATION_LENGTH)
    ).all()
    return [Exchange(message, reply_of(message)) for message in reversed(latest)]


def reply_of(message: SandboxFollowerMessage) -> Reply:
    if message.status is None:
        return Reply("failed", "没有收到公众号服务器的回答")
    if message.status != 200:
        return Reply("failed", f"公众号服务器出错（{message.status or message.answer}）")
    if message.reply_xml == "":
        return Reply("none")
    if message.reply_xml is None:
        return Reply("failed", "回复无法解密：签名或 AppID 不对")
    try:
        reply = xmltodict.parse(message.reply_xml, force_list=("item",))["xml"]
    except Exception:  # not XML, entities, no <xml> root: WeChat drops it
        return Reply("failed", "回复不是合法的 XML")
    if reply.get("ToUserName") != message.openid or reply.get("FromUserName") != original_id():
        return Reply("failed", "回复的 ToUserName 或 FromUserName 不对，微信不会转给粉丝")
    kind = reply.get("MsgType")
    if kind == "text":
        return Reply("text", reply.get("Content") or "")
    if kind == "news":
        items = (reply.get("Articles") or {}).get("item") or []
        return Reply("news", cards=tuple(_card(item) for item in items if isinstance(item, dict)))
    return Reply("other", f"一条 {kind} 类型的回复（沙箱不显示它的内容）")


def _card(item: dict) -> Card:
    return Card(
        title=item.get("Title") or "",
        description=item.get("Description") or "",
        picture=item.get("PicUrl") or "",
        url=item.get("Url") or "",
    )


# --- pushing ---------------------------------------------------------------------------------


def _push(openid: str, server_url: str, kind: str, step) -> SandboxFollowerMessage:
    """Take the step and record the message, post it with no transaction open (the shop
    writes too), then record the answer."""
    begin_write()
    try:
        summary, fields = step()
    except Refused:
        db.session.rollback()
        raise
    create_time = _next_create_time(openid)
    xml = _to_xml(
        {
            "ToUserName": original_id(),
            "FromUserName": openid,
            "CreateTime": create_time,
            "MsgType": kind,
            **fields,
        }
    )
    message = SandboxFollowerMessage(
        openid=openid,
        kind=kind,
        summary=summary,
        create_time=create_time,
        sent_xml=xml,
        safe_mode=bool(current_app.config["WECHAT_ENCODING_AES_KEY"]),
    )
    db.session.add(message)
    db.session.flush()
    message_id = message.id
    db.session.commit()

    status, answer, reply_xml = _deliver(xml, openid, create_time, server_url)

    begin_write()
    message = db.session.get(SandboxFollowerMessage, message_id)
    message.status, message.answer, message.reply_xml = status, answer, reply_xml
    db.session.commit()
    return message


def _next_create_time(openid: str) -> int:
    last = db.session.scalar(
        sa.select(sa.func.max(SandboxFollowerMessage.create_time)).where(
            SandboxFollowerMessage.openid == openid
        )
    )
    return max(int(time.time()), (last or 0) + 1)


def _deliver(xml: str, openid: str, create_time: int, server_url: str):
    """(status, answer as sent, reply XML: '' for nothing, None when it cannot be opened)."""
    config = current_app.config
    token, aes_key = config["WECHAT_TOKEN"], config["WECHAT_ENCODING_AES_KEY"]
    timestamp, nonce = str(create_time), str(secrets.randbelow(10**10))
    signature = hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()
    query = {"signature": signature, "timestamp": timestamp, "nonce": nonce, "openid": openid}
    body = xml
    crypto = None
    if aes_key:
        crypto = WeChatCrypto(token, aes_key, config["WECHAT_APPID"])
        sealed = xmltodict.parse(crypto.encrypt_message(xml, nonce, timestamp))["xml"]
        # WeChat's envelope names the account and carries the ciphertext; the signature over
        # it travels on the query.
        body = _to_xml({"ToUserName": original_id(), "Encrypt": sealed["Encrypt"]})
        query |= {"encrypt_type": "aes", "msg_signature": sealed["MsgSignature"]}
    url = server_url + ("&" if "?" in server_url else "?") + urlencode(query)
    status, answer = in_process.post(current_app._get_current_object(), url, body.encode("utf-8"))
    if status != 200 or answer.strip() in ("", NOTHING):
        return status, answer, ""
    if crypto is None:
        return status, answer, answer
    try:
        envelope = xmltodict.parse(answer)["xml"]
        opened = crypto.decrypt_message(
            answer, envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"]
        )
    except Exception:  # not the envelope, a wrong signature or AppID: WeChat drops it
        return status, answer, None
    return status, answer, opened


def _to_xml(fields: dict) -> str:
    return f"<xml>{''.join(_element(name, value) for name, value in fields.items())}</xml>"


def _element(name: str, value) -> str:
    if isinstance(value, dict):
        return f"<{name}>{''.join(_element(k, v) for k, v in value.items())}</{name}>"
    if isinstance(value, int):
        return f"<{name}>{value}</{name}>"
    # A "]]>" inside the text is split across two CDATA sections.
    return f"<{name}><![CDATA[{str(value).replace(']]>', ']]]]><![CDATA[>')}]]></{name}>"
