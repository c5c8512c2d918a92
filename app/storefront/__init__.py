"""The shop readers see: home, tags, search, product pages, reading, library."""

from flask import Blueprint

bp = Blueprint("storefront", __name__)

from app.storefront import views  # noqa: E402,F401  (routes attach to bp)
