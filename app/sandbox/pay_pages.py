"""What the payer sees: the phone page behind a NATIVE code_url, the H5 cashier behind an MWEB
mweb_url, and the WeixinJSBridge stand-in that JSAPI pay pages include.

The payer is the browser's current sandbox WeChat user (the cookie the OAuth screens set), as
in WeChat the payer is whoever holds the phone; with no such user the page lets you pick one.
"""

from urllib.parse import urlsplit

from flask import current_app, redirect, render_template, request, url_for

from app.extensions import csrf, db
from app.models.base import utcnow
from app.money import format_fen
from app.sandbox import bp, pay
from app.sandbox import oauth as sandbox_oauth
from app.sandbox.views import CURRENT_USER_COOKIE, json_response
from app.transactions import begin_write
from app.web.redirects import has_control_characters


@bp.route("/pay/scan/<token>", methods=["GET", "POST"])
def pay_scan(token: str):
    """code_url: what WeChat shows after scanning a NATIVE QR code."""
    return _cashier(token, "NATIVE", back_url=None)


@bp.route("/pay/h5", methods=["GET", "POST"])
def pay_h5():
    """mweb_url: WeChat's H5 cashier, which sends the browser back to redirect_url."""
    token = request.args.get("token", "")
    back_url = request.args.get("redirect_url", "")
    # WeChat's mweb_url already has a query, so the shop should append "&redirect_url=";
    # one that appends "?redirect_url=" puts it inside our token. Both work.
    token, _, appended = token.partition("?redirect_url=")
    return _cashier(token, "MWEB", back_url=_http_url(back_url or appended))


def _http_url(url: str) -> str | None:
    if has_control_characters(url):  # a newline cannot go into the Location header
        return None
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") and parts.netloc else None


def _cashier(token: str, trade_type: str, back_url: str | None):
    order = pay.find_by_token(token)
    if order is None or order.trade_type != trade_type:
        return _result("invalid", "二维码已失效" if trade_type == "NATIVE" else "链接无效", 404)
    now = utcnow()
    reason = pay.refusal(order, now)
    if trade_type == "MWEB" and order.mweb_expires_at <= now:
        reason = reason or "支付链接已过期（5分钟内有效），请回到商户重新发起支付"
    if request.method == "POST" and not reason:
        return _decide(order, back_url)
    return render_template(
        "sandbox/pay_confirm.html",
        order=order,
        payee=pay.payee_name(order),
        refusal=reason,
        back_url=back_url,
        users=sandbox_oauth.all_users(),
        current=sandbox_oauth.find_user(request.cookies.get(CURRENT_USER_COOKIE)),
    )


def _decide(order, back_url: str | None):
    payee = pay.payee_name(order)
    if request.form.get("decision") != "pay":
        if back_url:
            return redirect(back_url)
        return _result("cancelled", "已取消", order=order, payee=payee)
    nickname = request.form.get("new_nickname", "").strip()
    if nickname:
        begin_write()  # the page has read: on SQLite the write lock comes first
        user = sandbox_oauth.create_user(nickname)
        db.session.commit()  # the new user stays, whatever becomes of the payment
    else:
        user = sandbox_oauth.find_user(request.form.get("openid"))
    if user is None:
        return _result("refused", "请选择一个测试微信用户，或新建一个", 400, order=order)
    openid = user.openid
    try:
        pay.pay(order, openid)
    except pay.PaymentRefused as exc:
        db.session.rollback()
        response = _result("refused", str(exc), order=order, payee=payee, back_url=back_url)
    else:
        db.session.commit()
        if back_url:
            response = redirect(back_url)
        else:
            response = _result("paid", "支付成功", order=order, payee=payee, payer=user)
    response = current_app.make_response(response)
    response.set_cookie(CURRENT_USER_COOKIE, openid, samesite="Lax", httponly=True)
    return response


def _result(outcome: str, message: str, status: int = 200, **context):
    page = render_template("sandbox/pay_result.html", outcome=outcome, message=message, **context)
    return page, status


# --- JSAPI: the WeixinJSBridge stand-in -------------------------------------------------------


@bp.get("/pay/jsbridge.js")
def pay_jsbridge():
    script = render_template(
        "sandbox/jsbridge.js",
        check_url=url_for(".pay_jsapi_check"),
        pay_url=url_for(".pay_jsapi_pay"),
    )
    return current_app.response_class(script, content_type="text/javascript; charset=utf-8")


@bp.post("/pay/jsapi/check")
def pay_jsapi_check():
    """getBrandWCPayRequest, first step: check paySign and say what is being paid."""
    params = request.get_json(silent=True)
    if not isinstance(params, dict):
        return json_response({"ok": False, "message": "请求格式错误"}, 400)
    try:
        order = pay.jsapi_order(params)
    except pay.PaymentRefused as exc:
        return json_response({"ok": False, "message": str(exc)})
    return json_response(
        {
            "ok": True,
            "payee": pay.payee_name(order),
            "body": order.body,
            "total_fee": order.total_fee,
            "amount": format_fen(order.total_fee),
        }
    )


@bp.post("/pay/jsapi/pay")
def pay_jsapi_pay():
    """The payer pressed 支付 on the sheet: pay as the order's openid (checked again)."""
    params = request.get_json(silent=True)
    if not isinstance(params, dict):
        return json_response({"ok": False, "message": "请求格式错误"}, 400)
    try:
        order = pay.jsapi_order(params)
        pay.pay(order, order.openid)
    except pay.PaymentRefused as exc:
        db.session.rollback()
        return json_response({"ok": False, "message": str(exc)})
    db.session.commit()
    return json_response({"ok": True})


# The sheet posts JSON from the shop's page; paySign, which only the merchant can make,
# authenticates it instead of a CSRF token.
csrf.exempt(pay_jsapi_check)
csrf.exempt(pay_jsapi_pay)
