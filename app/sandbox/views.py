"""Sandbox routes: WeChat's OAuth URLs, and pages for choosing who "is in WeChat".

WeChat Pay's routes are in pay_views (the XML API) and pay_pages (what the payer sees).
"""

import json
from urllib.parse import urlencode

from flask import abort, current_app, redirect, render_template, request, url_for

from app.extensions import db
from app.sandbox import bp, pay
from app.sandbox import oauth as sandbox_oauth
from app.transactions import begin_write
from app.web.redirects import safe_next

# The browser's "logged-in WeChat user": real WeChat always knows who holds the phone,
# so after the first choice snsapi_base authorisations are silent, as in WeChat.
CURRENT_USER_COOKIE = "sandbox_wechat_user"
# "This browser shows the shop as a 朋友圈 snapshot page" (快照页): every authorisation, the
# silent ones too, then answers with a stand-in (see oauth.issue_code) until it is turned off.
SNAPSHOT_PAGE_COOKIE = "sandbox_snapshot_page"


def json_response(payload: dict, status: int = 200):
    return current_app.response_class(
        json.dumps(payload, ensure_ascii=False), status=status, mimetype="application/json"
    )


@bp.get("/")
def index():
    users = sandbox_oauth.all_users()
    current = request.cookies.get(CURRENT_USER_COOKIE)
    return render_template(
        "sandbox/index.html",
        users=users,
        current_openid=current,
        snapshot_page=_in_snapshot_page(),
        orders=pay.recent_orders(),
    )


@bp.post("/snapshot-page")
def snapshot_page():
    response = redirect(url_for(".index"))
    _remember_snapshot_page(response, bool(request.form.get("snapshot")))
    return response


def _in_snapshot_page() -> bool:
    return request.cookies.get(SNAPSHOT_PAGE_COOKIE) == "1"


def _remember_snapshot_page(response, on: bool) -> None:
    if on:
        response.set_cookie(SNAPSHOT_PAGE_COOKIE, "1", samesite="Lax", httponly=True)
    else:
        response.delete_cookie(SNAPSHOT_PAGE_COOKIE, samesite="Lax", httponly=True)


@bp.post("/users")
def create_user():
    begin_write()
    user = sandbox_oauth.create_user(request.form.get("nickname", ""))
    db.session.commit()
    response = redirect(safe_next(request.form.get("next"), url_for(".index")))
    response.set_cookie(CURRENT_USER_COOKIE, user.openid, samesite="Lax", httponly=True)
    return response


@bp.get("/avatar/<openid>.svg")
def avatar(openid: str):
    user = sandbox_oauth.find_user(openid) or abort(404)
    hue = sum(map(ord, user.openid)) % 360
    initial = (user.nickname or "微")[0]
    svg = render_template("sandbox/avatar.svg", hue=hue, initial=initial)
    return current_app.response_class(svg, mimetype="image/svg+xml")


# --- open.weixin.qq.com/connect/oauth2/authorize ---------------------------------------------


def _authorize_params() -> dict:
    source = request.form if request.method == "POST" else request.args
    params = {
        key: source.get(key, "")
        for key in ("appid", "redirect_uri", "response_type", "scope", "state")
    }
    if params["appid"] != current_app.config["WECHAT_APPID"]:
        abort(400, description="appid 无效（40013 invalid appid）")
    if params["response_type"] != "code" or params["scope"] not in sandbox_oauth.SCOPES:
        abort(400, description="参数错误：response_type 或 scope 无效")
    problem = sandbox_oauth.redirect_uri_problem(params["redirect_uri"], request.host)
    if problem:
        abort(400, description=problem)
    if len(params["state"]) > 128:
        abort(400, description="state 参数过长")
    return params


def _back_to_shop(params: dict, code: str | None):
    query = {"code": code, "state": params["state"]} if code else {"state": params["state"]}
    separator = "&" if "?" in params["redirect_uri"] else "?"
    return redirect(params["redirect_uri"] + separator + urlencode(query))


@bp.get("/open/connect/oauth2/authorize")
def authorize():
    params = _authorize_params()
    user = sandbox_oauth.find_user(request.cookies.get(CURRENT_USER_COOKIE))
    if user is not None and params["scope"] == "snsapi_base":
        begin_write()  # it has read: on SQLite the write lock comes first (app.transactions)
        code = sandbox_oauth.issue_code(
            user, params["appid"], params["scope"], snapshot=_in_snapshot_page()
        )
        db.session.commit()
        return _back_to_shop(params, code)
    return render_template(
        "sandbox/authorize.html",
        params=params,
        users=sandbox_oauth.all_users(),
        current=user,
        snapshot_page=_in_snapshot_page(),
    )


@bp.post("/open/connect/oauth2/authorize")
def authorize_decision():
    params = _authorize_params()
    if request.form.get("decision") == "deny":
        return _back_to_shop(params, None)
    nickname = request.form.get("new_nickname", "").strip()
    begin_write()
    if nickname:
        user = sandbox_oauth.create_user(nickname)
    else:
        user = sandbox_oauth.find_user(request.form.get("openid")) or abort(
            400, description="请选择一个测试微信用户，或新建一个"
        )
    snapshot = bool(request.form.get("snapshot"))
    code = sandbox_oauth.issue_code(user, params["appid"], params["scope"], snapshot=snapshot)
    db.session.commit()
    response = _back_to_shop(params, code)
    response.set_cookie(CURRENT_USER_COOKIE, user.openid, samesite="Lax", httponly=True)
    _remember_snapshot_page(response, snapshot)
    return response


# --- api.weixin.qq.com/sns/* (server to server, JSON) -----------------------------------------


def _check_app_credentials(require_secret: bool = True) -> sandbox_oauth.OAuthError | None:
    config = current_app.config
    if request.args.get("appid") != config["WECHAT_APPID"]:
        return sandbox_oauth.OAuthError(40013, "invalid appid")
    if require_secret and request.args.get("secret") != config["WECHAT_APP_SECRET"]:
        return sandbox_oauth.OAuthError(40125, "invalid appsecret")
    return None


@bp.get("/api/sns/oauth2/access_token")
def access_token():
    error = _check_app_credentials()
    if error is None and request.args.get("grant_type") != "authorization_code":
        error = sandbox_oauth.OAuthError(40002, "invalid grant_type")
    if error is not None:
        return json_response(error.as_json())
    begin_write()
    try:
        payload = sandbox_oauth.exchange_code(request.args["appid"], request.args.get("code", ""))
    except sandbox_oauth.OAuthError as exc:
        return json_response(exc.as_json())
    db.session.commit()
    return json_response(payload)


@bp.get("/api/sns/oauth2/refresh_token")
def refresh_token():
    error = _check_app_credentials(require_secret=False)
    if error is None and request.args.get("grant_type") != "refresh_token":
        error = sandbox_oauth.OAuthError(40002, "invalid grant_type")
    if error is not None:
        return json_response(error.as_json())
    begin_write()
    try:
        payload = sandbox_oauth.refresh(
            request.args["appid"], request.args.get("refresh_token", "")
        )
    except sandbox_oauth.OAuthError as exc:
        return json_response(exc.as_json())
    db.session.commit()
    return json_response(payload)


@bp.get("/api/sns/userinfo")
def user_info():
    try:
        payload = sandbox_oauth.user_info(
            request.args.get("access_token", ""), request.args.get("openid", "")
        )
    except sandbox_oauth.OAuthError as exc:
        return json_response(exc.as_json())
    if payload["headimgurl"] is None:
        # The in-process transport passes on the reader's host: the URL works in their browser.
        payload["headimgurl"] = url_for(".avatar", openid=payload["openid"], _external=True)
    return json_response(payload)


@bp.get("/api/sns/auth")
def check_access_token():
    try:
        payload = sandbox_oauth.check_token(
            request.args.get("access_token", ""), request.args.get("openid", "")
        )
    except sandbox_oauth.OAuthError as exc:
        return json_response(exc.as_json())
    return json_response(payload)
