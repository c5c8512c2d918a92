"""Checkout: buying, tipping (赞赏), the pay pages per channel, WeChat's notifications, the API."""

from flask import Blueprint

bp = Blueprint("checkout", __name__)
api = Blueprint("api", __name__, url_prefix="/api")

from app.checkout import (  # noqa: E402,F401  (routes attach)
    api_views,
    gift_views,
    notify_views,
    tip_views,
    views,
)
