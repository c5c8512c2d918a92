"""Studio: 订单 (being built)."""

from flask import render_template

from app.studio import bp


@bp.get("/orders")
def orders():
    return render_template("studio/coming.html", title="订单")
