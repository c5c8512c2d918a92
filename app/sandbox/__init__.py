"""The built-in WeChat sandbox: a stand-in for WeChat that speaks its protocols.

Registered only when WECHAT_SANDBOX is on. Browser-facing pages (the authorisation screen, the
pay pages) live on the shop's own address; server-to-server endpoints are reached by wechatpy
through the in-process transport (app.wechat.transport), at the same paths WeChat uses under
/sandbox/api/, /sandbox/open/ and /sandbox/pay/.
"""

from flask import Blueprint

bp = Blueprint("sandbox", __name__, url_prefix="/sandbox", cli_group="sandbox")

# Routes and commands attach to bp.
from app.sandbox import (  # noqa: E402,F401
    commands,
    follower_pages,
    message_api,
    notify,
    oa_messages,
    official_account,
    pay_pages,
    pay_views,
    sharing,
    views,
)

# The notification worker starts with the first sandbox request of each process (and again if
# it died), so notifications queued before a restart still go out.
bp.before_request(notify.ensure_worker)
