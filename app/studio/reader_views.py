"""Studio: 读者 (being built)."""

from flask import render_template

from app.studio import bp


@bp.get("/readers")
def readers():
    return render_template("studio/coming.html", title="读者")
