"""The sandbox's side of sharing: the JS-SDK stand-in and 带参数二维码.

- jweixin.js: window.wx as a page inside WeChat sees it. wx.config is checked here as WeChat
  checks it (the AppID, and the signature over a ticket the sandbox handed out and the page's
  address); a shared card shows in a sheet, with the link a friend would open.
- qrcode/create and showqrcode, at WeChat's paths: a temporary code's ticket names its scene,
  and its URL (what the QR code says) opens a sandbox page as a phone's scan would.
"""

import io
import json
import secrets
from datetime import timedelta

import qrcode
from flask import abort, current_app, render_template, request, url_for
from wechatpy.utils import WeChatSigner

from app.extensions import csrf, db
from app.models.base import utcnow
from app.sandbox import bp
from app.sandbox.models import SandboxQrCode
from app.sandbox.official_account import live_jsapi_tickets, token_error
from app.sandbox.views import json_response
from app.transactions import begin_write

TEMPORARY_MAX = timedelta(days=30)  # WeChat's limit for a temporary code
TEMPORARY_DEFAULT = 60  # seconds: what WeChat uses when expire_seconds is missing


@bp.get("/jweixin.js")
def jweixin_js():
    script = render_template("sandbox/jweixin.js", check_url=url_for(".jssdk_check"))
    return current_app.response_class(script, content_type="text/javascript; charset=utf-8")


@bp.post("/jssdk/check")
@csrf.exempt  # it changes nothing: it answers whether a signature is right
def jssdk_check():
    params = request.get_json(silent=True)
    if not isinstance(params, dict):
        return json_response({"ok": False, "errMsg": "config:invalid arguments"}, 400)
    if params.get("appId") != current_app.config["WECHAT_APPID"]:
        return json_response({"ok": False, "errMsg": "config:invalid appid"})
    url = str(params.get("url", "")).split("#", 1)[0]
    for ticket in live_jsapi_tickets():
        signer = WeChatSigner(delimiter=b"&")
        signer.add_data(
            f"noncestr={params.get('nonceStr')}",
            f"jsapi_ticket={ticket}",
            f"timestamp={params.get('timestamp')}",
            f"url={url}",
        )
        if secrets.compare_digest(signer.signature, str(params.get("signature", ""))):
            return json_response({"ok": True, "errMsg": "config:ok"})
    return json_response({"ok": False, "errMsg": "config:invalid signature"})


@bp.post("/api/cgi-bin/qrcode/create")
@csrf.exempt  # server to server: the access token is the credential
def qrcode_create():
    refused = token_error()
    if refused is not None:
        return refused
    try:  # wechatpy sends JSON without saying so in Content-Type, as WeChat accepts
        body = json.loads(request.get_data())
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return json_response({"errcode": 40053, "errmsg": "invalid action info"})
    if body.get("action_name") not in ("QR_SCENE", "QR_STR_SCENE"):
        return json_response({"errcode": 40053, "errmsg": "invalid action info"})
    scene = (body.get("action_info") or {}).get("scene") or {}
    key = "scene_str" if body["action_name"] == "QR_STR_SCENE" else "scene_id"
    value = scene.get(key)
    if not value or len(str(value)) > 64:
        return json_response({"errcode": 40053, "errmsg": "invalid action info"})
    try:
        lifetime = timedelta(seconds=int(body.get("expire_seconds") or TEMPORARY_DEFAULT))
    except (TypeError, ValueError):
        return json_response({"errcode": 40009, "errmsg": "invalid expire_seconds"})
    lifetime = min(lifetime, TEMPORARY_MAX)
    begin_write()
    code = SandboxQrCode(
        ticket=secrets.token_urlsafe(36),
        appid=current_app.config["WECHAT_APPID"],
        scene=str(value),
        expires_at=utcnow() + lifetime,
    )
    db.session.add(code)
    db.session.commit()
    return json_response(
        {
            "ticket": code.ticket,
            "expire_seconds": int(lifetime.total_seconds()),
            "url": url_for(".qr_scanned", ticket=code.ticket, _external=True),
        }
    )


@bp.get("/showqrcode")
def showqrcode():
    """The code's image, as mp.weixin.qq.com/cgi-bin/showqrcode gives it."""
    code = _live_code(request.args.get("ticket", ""))
    if code is None:
        abort(404)
    image = qrcode.make(url_for(".qr_scanned", ticket=code.ticket, _external=True))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return current_app.response_class(buffer.getvalue(), mimetype="image/png")


@bp.get("/qr/<ticket>")
def qr_scanned(ticket: str):
    """What a phone opens when it scans a code: which scene it carries, and the follower page."""
    code = _live_code(ticket)
    if code is None:
        return render_template("sandbox/qr_scanned.html", code=None), 404
    return render_template("sandbox/qr_scanned.html", code=code)


def scene_for_ticket(ticket: str) -> str | None:
    """The scene a live code's ticket names (the follower page sends it with a scan)."""
    code = _live_code(ticket)
    return code.scene if code is not None else None


def _live_code(ticket: str) -> SandboxQrCode | None:
    code = db.session.get(SandboxQrCode, ticket)
    if code is None or code.expires_at <= utcnow():
        return None
    return code
