"""The sandbox's Official Account server API: access tokens, the JS-SDK ticket, the menu,
and who follows the account.

The same paths and JSON as WeChat's cgi-bin (under /sandbox/api/cgi-bin/). Tokens last
TOKEN_LIFETIME; a revoked one (revoke_tokens, for trying the shop's refresh) answers 40001 as
WeChat does for a token it retired. The menu is kept as the exact bytes the shop sent, so a
test can see that Chinese names went out as UTF-8, not \\u escapes.

Followers are the sandbox users who follow the account (on the follower page,
oa_messages.py); is_following, set_following, record_interaction and refuse_messages are
what the message endpoints (message_api.py) and tests use.
"""

import base64
import hashlib
import hmac
import json
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, request

from app.extensions import csrf, db
from app.models.base import utcnow
from app.sandbox import bp
from app.sandbox.models import SandboxApiToken, SandboxFollower, SandboxMenu
from app.sandbox.views import json_response
from app.transactions import begin_write

TOKEN_LIFETIME = timedelta(seconds=7200)
BUTTON_TYPES = {
    "click",
    "view",
    "scancode_push",
    "scancode_waitmsg",
    "pic_sysphoto",
    "pic_photo_or_album",
    "pic_weixin",
    "location_select",
    "media_id",
    "view_limited",
    "miniprogram",
}
NEEDS_KEY = {"click", "scancode_push", "scancode_waitmsg", "pic_sysphoto", "pic_photo_or_album"}
NEEDS_KEY |= {"pic_weixin", "location_select"}


def error_answer(errcode: int, errmsg: str):
    return json_response({"errcode": errcode, "errmsg": errmsg})


@bp.get("/api/cgi-bin/token")
def api_token():
    config = current_app.config
    if request.args.get("grant_type") != "client_credential":
        return error_answer(40002, "invalid grant_type")
    if request.args.get("appid") != config["WECHAT_APPID"]:
        return error_answer(40013, "invalid appid")
    if request.args.get("secret") != config["WECHAT_APP_SECRET"]:
        return error_answer(40001, "invalid credential, access_token is invalid or not latest")
    begin_write()
    token = SandboxApiToken(
        token=secrets.token_urlsafe(48),
        appid=config["WECHAT_APPID"],
        expires_at=utcnow() + TOKEN_LIFETIME,
    )
    db.session.add(token)
    db.session.commit()
    return json_response(
        {"access_token": token.token, "expires_in": int(TOKEN_LIFETIME.total_seconds())}
    )


def revoke_tokens() -> None:
    """Retire every token handed out (the caller commits)."""
    db.session.execute(sa.update(SandboxApiToken).values(revoked=True))


def tokens_issued() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(SandboxApiToken))


def token_error():
    token = db.session.get(SandboxApiToken, request.args.get("access_token", ""))
    if token is None or token.revoked:
        return error_answer(40001, "invalid credential, access_token is invalid or not latest")
    if token.expires_at <= utcnow():
        return error_answer(42001, "access_token expired")
    return None


@bp.get("/api/cgi-bin/ticket/getticket")
def get_ticket():
    refused = token_error()
    if refused is not None:
        return refused
    if request.args.get("type") != "jsapi":
        return error_answer(40097, "invalid args")
    return json_response(
        {
            "errcode": 0,
            "errmsg": "ok",
            "ticket": jsapi_ticket_for(request.args["access_token"]),
            "expires_in": int(TOKEN_LIFETIME.total_seconds()),
        }
    )


def jsapi_ticket_for(access_token: str) -> str:
    """The JS-SDK ticket of an access token: derived from it, so the sandbox can check a page's
    wx.config signature against every ticket it handed out without storing them."""
    key = current_app.secret_key.encode()
    digest = hmac.new(key, f"jsapi:{access_token}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def live_jsapi_tickets() -> list[str]:
    tokens = db.session.scalars(
        sa.select(SandboxApiToken.token).where(
            SandboxApiToken.revoked.is_(False), SandboxApiToken.expires_at > utcnow()
        )
    )
    return [jsapi_ticket_for(token) for token in tokens]


@bp.post("/api/cgi-bin/menu/create")
@csrf.exempt  # server to server: the access token is the credential
def menu_create():
    refused = token_error()
    if refused is not None:
        return refused
    body = request.get_data()
    try:
        menu = json.loads(body)
    except ValueError:  # WeChat says this to a body it cannot read
        return error_answer(40016, "invalid button size")
    problem = menu_problem(menu)
    if problem is not None:
        return error_answer(*problem)
    begin_write()
    stored = db.session.get(SandboxMenu, current_app.config["WECHAT_APPID"])
    if stored is None:
        stored = SandboxMenu(appid=current_app.config["WECHAT_APPID"])
        db.session.add(stored)
    stored.body, stored.updated_at = body, utcnow()
    db.session.commit()
    return error_answer(0, "ok")


@bp.get("/api/cgi-bin/menu/get")
def menu_get():
    refused = token_error()
    if refused is not None:
        return refused
    stored = db.session.get(SandboxMenu, current_app.config["WECHAT_APPID"])
    if stored is None:
        return error_answer(46003, "menu no exist")
    return json_response({"menu": json.loads(stored.body)})


@bp.get("/api/cgi-bin/menu/delete")
def menu_delete():
    refused = token_error()
    if refused is not None:
        return refused
    begin_write()
    db.session.execute(
        sa.delete(SandboxMenu).where(SandboxMenu.appid == current_app.config["WECHAT_APPID"])
    )
    db.session.commit()
    return error_answer(0, "ok")


def pushed_menu_body() -> bytes | None:
    stored = db.session.get(SandboxMenu, current_app.config["WECHAT_APPID"])
    return stored.body if stored is not None else None


def menu_problem(menu) -> tuple[int, str] | None:
    """WeChat's checks of a custom menu: up to 3 buttons of up to 5 sub-buttons, names of up
    to 16 bytes (60 in a sub-menu), a key for the event types, a URL for view."""
    buttons = menu.get("button") if isinstance(menu, dict) else None
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
        return 40016, "invalid button size"
    for button in buttons:
        subs = button.get("sub_button")
        if subs:
            if not isinstance(subs, list) or len(subs) > 5:
                return 40023, "invalid sub button size"
            problem = _name_problem(button, 16) or next(
                (p for p in (_button_problem(sub, 60) for sub in subs) if p), None
            )
        else:
            problem = _button_problem(button, 16)
        if problem:
            return problem
    return None


def _name_problem(button: dict, max_bytes: int) -> tuple[int, str] | None:
    name = button.get("name")
    if not isinstance(name, str) or not 0 < len(name.encode()) <= max_bytes:
        return 40018, "invalid button name size"
    return None


def _button_problem(button: dict, max_name_bytes: int) -> tuple[int, str] | None:
    if not isinstance(button, dict):
        return 40017, "invalid button type"
    problem = _name_problem(button, max_name_bytes)
    if problem:
        return problem
    kind = button.get("type")
    if kind not in BUTTON_TYPES:
        return 40017, "invalid button type"
    key = button.get("key")
    if kind in NEEDS_KEY and (not isinstance(key, str) or not 0 < len(key.encode()) <= 128):
        return 40019, "invalid button key size"
    url = button.get("url")
    if kind == "view" and (not isinstance(url, str) or not 0 < len(url.encode()) <= 1024):
        return 40055, "invalid button url domain"
    return None


# --- followers ---------------------------------------------------------------------------------


def is_following(openid: str) -> bool:
    found = follower(openid)
    return found is not None and found.following


def set_following(openid: str, following: bool) -> None:
    """Follow or unfollow the account, as the user's phone would (the caller commits).
    Following is an interaction by WeChat's rules: it opens the customer-service window."""
    follower = _follower(openid)
    if following and not follower.following:
        follower.followed_at = follower.last_interaction_at = utcnow()
    follower.following = following


def record_interaction(openid: str) -> None:
    """The follower messaged the account, clicked its menu or scanned its code (the caller
    commits); unfollowing and opening a menu link do not count."""
    _follower(openid).last_interaction_at = utcnow()


def refuse_messages(openid: str, refused: bool = True) -> None:
    """A follower turns the account's messages off, or on again (the caller commits):
    template messages to them then answer 43101."""
    _follower(openid).refuses_messages = refused


def follower(openid: str) -> SandboxFollower | None:
    return db.session.get(SandboxFollower, openid)


def _follower(openid: str) -> SandboxFollower:
    found = follower(openid)
    if found is None:
        found = SandboxFollower(openid=openid, following=False)
        db.session.add(found)
    return found
