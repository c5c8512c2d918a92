"""Studio: 设置 (being built)."""

from flask import render_template

from app.studio import bp


@bp.get("/settings")
def settings():
    return render_template("studio/coming.html", title="设置")
