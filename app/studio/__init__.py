"""The creator's studio. For now its front page; managing the shop grows here."""

from flask import Blueprint

bp = Blueprint("studio", __name__, url_prefix="/studio")

from app.studio import views  # noqa: E402,F401  (routes attach to bp)
