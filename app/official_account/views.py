"""`/wechat/callback`: the 公众号 server URL. Thin: app/wechat/callback.py decides."""

from flask import abort, current_app, request

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
