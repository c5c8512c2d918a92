"""Studio: 内容管理 (being built)."""

from flask import render_template

from app.studio import bp


@bp.get("/products")
def products():
    return render_template("studio/coming.html", title="内容管理")
