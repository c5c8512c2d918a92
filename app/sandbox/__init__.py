"""The built-in WeChat sandbox: a stand-in for WeChat that speaks its protocols.

Registered only when WECHAT_SANDBOX is on. Browser-facing pages (the authorisation screen)
live on the shop's own address; server-to-server endpoints are reached by wechatpy through
the in-process transport (app.wechat.transport), at the same paths WeChat uses under
/sandbox/api/ and /sandbox/open/.
"""

from flask import Blueprint

bp = Blueprint("sandbox", __name__, url_prefix="/sandbox")

from app.sandbox import views  # noqa: E402,F401  (routes attach to bp)
