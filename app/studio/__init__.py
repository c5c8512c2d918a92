"""The creator's studio: the dashboard, content, orders, readers, tips and settings.

Every route is behind creator login (views.py registers the check for the blueprint).
One module of views per area; business rules live in services outside this package.
"""

from flask import Blueprint

bp = Blueprint("studio", __name__, url_prefix="/studio")

from app.studio import (  # noqa: E402,F401  (routes attach to bp)
    dashboard_views,
    order_views,
    product_views,
    reader_views,
    recs_views,
    settings_views,
    views,
)
