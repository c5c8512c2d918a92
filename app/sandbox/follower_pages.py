"""扮演粉丝: the developer plays a follower of the 公众号 in a phone-like chat.

Pick or create a sandbox WeChat user, follow or unfollow, write, press the buttons of the
menu the shop pushed, scan a parametric QR code; each goes to the shop's /wechat/callback as
WeChat would send it (oa_messages.py), and the chat shows the answer. No script: a sub-menu
is a <details>, a scan button asks for what was scanned on the next page.
"""

from urllib.parse import urlsplit

from flask import abort, redirect, render_template, request, url_for

from app.extensions import db
from app.sandbox import bp, oa_messages
from app.sandbox import oauth as sandbox_oauth
from app.sandbox import official_account as account
from app.sandbox.sharing import scene_for_ticket
from app.sandbox.views import CURRENT_USER_COOKIE
from app.transactions import begin_write


@bp.get("/follower")
def follower():
    user = sandbox_oauth.find_user(request.args.get("openid")) or sandbox_oauth.find_user(
        request.cookies.get(CURRENT_USER_COOKIE)
    )
    return _page(user, scan_path=request.args.get("scan"), ticket=request.args.get("ticket"))


@bp.post("/follower/user")
def follower_user():
    nickname = request.form.get("new_nickname", "").strip()
    if nickname:
        begin_write()
        user = sandbox_oauth.create_user(nickname)
        db.session.commit()
    else:
        user = sandbox_oauth.find_user(request.form.get("openid"))
    if user is None:
        return _page(None, problem="请选择一个测试微信用户，或新建一个", status=400)
    response = redirect(url_for(".follower", openid=user.openid))
    response.set_cookie(CURRENT_USER_COOKIE, user.openid, samesite="Lax", httponly=True)
    return response


@bp.post("/follower/follow")
def follower_follow():
    return _act(lambda user: oa_messages.follow(user.openid, _server_url()))


@bp.post("/follower/unfollow")
def follower_unfollow():
    return _act(lambda user: oa_messages.unfollow(user.openid, _server_url()))


@bp.post("/follower/text")
def follower_text():
    content = request.form.get("content", "")
    return _act(lambda user: oa_messages.send_text(user.openid, content, _server_url()))


@bp.post("/follower/scan")
def follower_scan():
    def scan(user):
        ticket = request.form.get("ticket")
        if ticket:  # a code the sandbox made, opened from its URL (a poster's QR code)
            code = oa_messages.code_with_ticket(ticket)
        else:
            code = oa_messages.code_with_scene(request.form.get("scene", ""))
        return oa_messages.scan_qr_code(user.openid, code, _server_url())

    return _act(scan)


@bp.post("/follower/menu")
def follower_menu():
    user = _acting_user()
    path = request.form.get("button", "")
    button = oa_messages.button_at(oa_messages.pushed_menu(), path)
    if button is None:
        return _page(user, problem="菜单里没有这个按钮了（菜单可能刚更新过）", status=400)
    scanned = request.form.get("scanned")
    if button.get("type") in oa_messages.SCAN_BUTTONS and scanned is None:
        # WeChat opens the camera here; the page asks what the camera read.
        return redirect(url_for(".follower", openid=user.openid, scan=path))
    try:
        oa_messages.press_button(user.openid, button, _server_url(), scanned or "")
    except oa_messages.Refused as refused:
        return _page(user, problem=str(refused), status=400)
    link = button.get("url", "")
    if button.get("type") == "view" and urlsplit(link).scheme in ("http", "https"):
        return redirect(link)  # WeChat opens the page once the event is sent
    return _back_to_chat(user)


def _act(action):
    user = _acting_user()
    try:
        action(user)
    except oa_messages.Refused as refused:
        return _page(user, problem=str(refused), status=400)
    return _back_to_chat(user)


def _acting_user():
    return sandbox_oauth.find_user(request.form.get("openid")) or abort(
        400, description="请先选择一个测试微信用户"
    )


def _server_url() -> str:
    """The 服务器地址 of the account's server configuration: the shop's message callback, on
    the address this browser uses, so the links in its answers open here."""
    return url_for("official_account.wechat_callback", _external=True)


def _back_to_chat(user):
    return redirect(url_for(".follower", openid=user.openid, _anchor="latest"))


def _page(
    user,
    *,
    problem: str | None = None,
    scan_path: str | None = None,
    ticket: str | None = None,
    status: int = 200,
):
    menu = oa_messages.pushed_menu()
    scan_button = oa_messages.button_at(menu, scan_path) if scan_path else None
    if scan_button is not None and scan_button.get("type") not in oa_messages.SCAN_BUTTONS:
        scan_button = None
    page = render_template(
        "sandbox/follower.html",
        user=user,
        users=sandbox_oauth.all_users(),
        standing=account.follower(user.openid) if user else None,
        exchanges=oa_messages.conversation(user.openid) if user else [],
        menu=menu,
        scan_button=scan_button,
        scan_path=scan_path,
        ticket=ticket,
        ticket_scene=scene_for_ticket(ticket) if ticket else None,
        problem=problem,
        max_text=oa_messages.MAX_TEXT,
        max_scene=oa_messages.MAX_SCENE,
    )
    return page, status
