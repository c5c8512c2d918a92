"""Accounts: readers through WeChat OAuth (or as guests), and the creator's login."""

from flask import Blueprint

bp = Blueprint("accounts", __name__)

from app.accounts import views  # noqa: E402,F401  (routes attach to bp)
from app.accounts.session import adopt_legacy_cookie  # noqa: E402

bp.before_app_request(adopt_legacy_cookie)
