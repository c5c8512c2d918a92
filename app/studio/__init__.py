"""The creator's studio: the dashboard, content, orders, readers, tips, the 公众号's
messages and settings.

Every route is behind creator login (the check below covers the whole blueprint).
One module of views per area; business rules live in services outside this package.
"""

from flask import Blueprint
from flask_login import login_required

bp = Blueprint("studio", __name__, url_prefix="/studio")


@bp.before_request
@login_required
def require_creator():
    """Every studio page is the creator's only."""


from app.studio import (  # noqa: E402,F401  (routes attach to bp)
    bill_views,
    dashboard_views,
    media_views,
    message_views,
    order_views,
    product_views,
    promotion_views,
    reader_views,
    recs_views,
    settings_views,
    tip_views,
    wechat_views,
)
