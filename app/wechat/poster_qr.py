"""What a poster's QR code says.

With the 公众号's message callback on (WECHAT_TOKEN), a temporary 带参数二维码 whose scene
names the item and the sharer: a reader who is not a follower follows by scanning it, and the
follow event carries the scene, so the 公众号 welcomes them with the shared item. WeChat makes
the code (qrcode/create); the shop keeps it per scene and asks for a new one only when the
old one nears its end (POSTER_QR_DAYS, at most 30). Without the callback, or when WeChat
cannot make one (an unverified account has no such API, WeChat is unreachable), the code is
the item's link: the poster always works.
"""

import logging
from datetime import timedelta

import requests
import sqlalchemy as sa
from flask import current_app
from wechatpy.exceptions import WeChatClientException

from app.models import WeChatQrCode
from app.models.base import insert_or_ignore, utcnow
from app.transactions import writing_apart
from app.wechat import api_tokens
from app.wechat.official_account import current_client
from app.wechat.scenes import Scene

log = logging.getLogger(__name__)
RENEW_BEFORE = timedelta(days=2)  # a poster saved today should scan for a while yet
_table = WeChatQrCode.__table__


def qr_payload(scene: Scene, link: str) -> tuple[str, bool]:
    """What to draw: a 带参数二维码's URL (True) or the item's `link` (False)."""
    if not current_app.config["WECHAT_TOKEN"]:
        return link, False
    try:
        return _parametric_url(str(scene)), True
    except (
        WeChatClientException,
        requests.RequestException,
        api_tokens.TokenUnavailable,
        sa.exc.SQLAlchemyError,
        KeyError,
        ValueError,
    ):
        log.warning("no 带参数二维码 for scene %s; the poster links instead", scene, exc_info=True)
        return link, False


def _parametric_url(scene: str) -> str:
    with writing_apart() as connection:
        row = connection.execute(
            sa.select(_table.c.url, _table.c.expires_at).where(_table.c.scene == scene)
        ).first()
    if row is not None and row.expires_at - utcnow() > RENEW_BEFORE:
        return row.url
    lifetime = timedelta(days=current_app.config["POSTER_QR_DAYS"])
    answer = current_client().qrcode.create(
        {
            "expire_seconds": int(lifetime.total_seconds()),
            "action_name": "QR_STR_SCENE",
            "action_info": {"scene": {"scene_str": scene}},
        }
    )
    values = {
        "ticket": answer["ticket"],
        "url": answer["url"],
        "expires_at": utcnow() + timedelta(seconds=int(answer["expire_seconds"])),
    }
    # Two views at once may both ask WeChat; both codes work, the last one stored is kept.
    with writing_apart() as connection:
        connection.execute(insert_or_ignore(_table, ("scene",)), {"scene": scene, **values})
        connection.execute(sa.update(_table).where(_table.c.scene == scene).values(**values))
    return values["url"]
