"""The Official Account's side of the shop: the message and event callback WeChat calls."""

from flask import Blueprint

bp = Blueprint("official_account", __name__)

from app.official_account import views  # noqa: E402,F401  (routes attach to bp)
