"""`/wechat/callback`: the 公众号 server URL. Thin: app/wechat/callback.py decides. And the
domain verification files WeChat fetches from the shop's root."""

import re

from flask import abort, current_app, request, send_from_directory

from app.extensions import csrf
from app.official_account import bp
from app.wechat import callback


@bp.route("/wechat/callback", methods=["GET", "POST"])
@csrf.exempt  # WeChat signs its requests with the Token instead
def wechat_callback():
    if not current_app.config["WECHAT_TOKEN"]:
        abort(404)  # the callback is off until the 公众号's Token is configured
    try:
        if request.method == "GET":
            text = callback.verify_url(request.args)
            return current_app.response_class(text, mimetype="text/plain")
        text = callback.answer(request.args, request.get_data())
    except callback.Refused:
        abort(403)
    return current_app.response_class(text, mimetype="application/xml")


VERIFY_CODE = re.compile(r"[0-9A-Za-z]{1,64}")


@bp.get("/MP_verify_<code>.txt")
def domain_verification(code: str):
    """公众号后台 asks for a file `MP_verify_<code>.txt` at the domain's root before it accepts
    the domain (网页授权域名, JS接口安全域名). The creator drops the file it offers into the
    instance folder and the shop serves it, with or without a reverse proxy in front."""
    if not VERIFY_CODE.fullmatch(code):
        abort(404)
    return send_from_directory(
        current_app.instance_path, f"MP_verify_{code}.txt", mimetype="text/plain", max_age=0
    )
