"""Reader sign-in through WeChat OAuth, 我的 and the name and picture readers choose there,
and the creator's login."""

import secrets
from pathlib import Path

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_from_directory,
    session,
    url_for,
)
from flask_login import login_required, login_user, logout_user

from app.accounts import bp
from app.accounts.forms import CreatorLoginForm
from app.accounts.session import (
    OAUTH_TRIED_KEY,
    begin_session,
    current_reader,
    current_snapshot,
    end_session,
    is_wechat_browser,
    mark_snapshot_page,
)
from app.extensions import db, limiter
from app.models import Reader
from app.models.base import utcnow
from app.payments.checkout import close_before_merge
from app.payments.gateway import current_gateway
from app.pricing import memberships, points
from app.readers import creators, identity, login_throttle, profiles
from app.transactions import writing
from app.web.page_cache import cached_page, reader_facts_of
from app.web.redirects import safe_next
from app.web.request_limits import takes_upload
from app.wechat.oauth import SCOPE_BASE, SCOPE_USERINFO, OAuthFailed, current_oauth

OAUTH_SESSION_KEY = "wechat_oauth"


@bp.get("/auth/wechat")
def wechat_login():
    """Send the reader to WeChat's authorisation page; `scope=userinfo` asks for name and avatar."""
    scope = SCOPE_USERINFO if request.args.get("scope") == "userinfo" else SCOPE_BASE
    state = secrets.token_hex(16)  # hex only: the authorize URL carries state unescaped
    session[OAUTH_SESSION_KEY] = {
        "state": state,
        "scope": scope,
        "next": safe_next(request.args.get("next")),
    }
    callback = url_for(".wechat_callback", _external=True)
    return redirect(current_oauth().authorize_url(callback, scope, state))


@bp.get("/auth/wechat/callback")
def wechat_callback():
    pending = session.pop(OAUTH_SESSION_KEY, None)
    if not pending or not secrets.compare_digest(pending["state"], request.args.get("state", "")):
        flash("微信授权已失效，请重新进入", "error")
        return redirect(url_for("storefront.home"))
    code = request.args.get("code")
    if not code:
        flash("你取消了微信授权，可以继续以游客身份浏览", "info")
        return redirect(pending["next"])

    try:
        user = current_oauth().exchange(code, pending["scope"])
    except OAuthFailed as failure:
        current_app.logger.warning("WeChat OAuth failed: %s", failure)
        flash(failure.reader_message, "error")
        return redirect(pending["next"])
    if user.is_snapshot_user:
        # A 朋友圈 snapshot page: the openid is a stand-in's, nobody's. No binding, no merge,
        # no sign-in; every page says to open the full page (base.html), checkout refuses.
        mark_snapshot_page()
        return redirect(pending["next"])

    profile = identity.WeChatProfile(
        openid=user.openid,
        unionid=user.unionid,
        nickname=user.nickname,
        avatar_url=user.avatar_url,
    )
    close_before_merge(current_gateway(), current_reader(), profile.openid)
    with writing():  # the merge reads, then moves rows: SQLite's write lock first
        reader = identity.sign_in_with_wechat(current_reader(), profile)
        begin_session(reader)  # a new session: the cookie this browser came with stays a guest's
    session[OAUTH_TRIED_KEY] = True
    return redirect(pending["next"])


@bp.post("/auth/logout")
def reader_logout():
    """Forget the WeChat reader on this browser. Guests are not offered this: they would lose
    their only key to what they bought."""
    reader = current_reader()
    if reader is not None and not reader.is_guest:
        end_session()
        db.session.commit()
        session[OAUTH_TRIED_KEY] = True  # do not sign straight back in inside WeChat
        flash("已退出", "info")
    return redirect(url_for("storefront.home"))


@bp.get("/auth/logout")
def confirm_logout():
    """退出登录 asks first: a reader signed out inside WeChat stays a guest until they sign in
    again (and 我的 itself holds no form, so one copy of it serves each reader)."""
    reader = current_reader()
    if reader is None or reader.is_guest:
        return redirect(url_for(".me"))
    return render_template("accounts/logout.html", reader=reader)


def _me_facts(**_view_args) -> tuple:
    return current_snapshot().profile, is_wechat_browser()


@bp.get("/me")
@cached_page(_me_facts)
def me():
    profile, in_wechat = reader_facts_of(_me_facts, {})
    return render_template("accounts/me.html", reader=profile, in_wechat=in_wechat)


@bp.get("/me/points")
def my_points():
    """积分: the balance, what it is worth here, and every change to it."""
    reader = current_reader()
    return render_template(
        "accounts/points.html",
        balance=points.balance(reader.id if reader else None),
        history=points.history(reader.id) if reader else [],
        rates=points.settings(),
    )


@bp.get("/me/membership")
def my_membership():
    """会员: the reader's passes, when each ends, and what they open."""
    reader = current_reader()
    return render_template(
        "accounts/membership.html",
        stretches=memberships.for_reader(reader.id) if reader else [],
        now=utcnow(),
        ends_soon=memberships.ends_soon,
    )


# --- the name and picture a reader chooses (app/readers/profiles.py) ---------------------------
# On pages of their own, not on 我的: 我的 holds no form, so one copy of it serves each reader.


@bp.get("/me/profile")
def profile():
    reader = current_reader()
    return _profile_page(reader, name=reader.known_name if reader else "")


@bp.post("/me/profile/name")
@limiter.limit("20 per minute")
def save_name():
    _wechat_reader_or_403()
    typed = request.form.get("name", "")
    try:
        with writing():
            profiles.choose_name(current_reader(), typed)
    except profiles.ProfileRejected as rejected:
        return _profile_page(current_reader(), name=typed, name_error=rejected.message)
    flash("昵称已保存", "info")
    return redirect(_after_profile())


@bp.post("/me/profile/avatar")
@limiter.limit("10 per minute")
@takes_upload(4 * profiles.MAX_AVATAR_BYTES)  # a little too large still gets a clear answer
def save_avatar():
    _wechat_reader_or_403()
    upload = request.files.get("avatar")
    try:
        if upload is None or not upload.filename:
            raise profiles.ProfileRejected("请选择一张图片")
        # One byte over the limit is enough for the service to refuse it.
        picture = profiles.avatar_picture(upload.stream.read(profiles.MAX_AVATAR_BYTES + 1))
        with writing():
            replaced = profiles.choose_avatar(current_reader(), _upload_folder(), picture)
    except profiles.ProfileRejected as rejected:
        reader = current_reader()
        return _profile_page(reader, name=reader.known_name, avatar_error=rejected.message)
    if replaced:  # only now: had the commit failed, the reader would still show it
        profiles.remove_avatar(_upload_folder(), replaced)
    flash("头像已更换", "info")
    return redirect(_after_profile())


@bp.post("/me/profile/wechat")
def use_wechat_profile():
    _wechat_reader_or_403()
    with writing():
        replaced = profiles.use_wechat_profile(current_reader())
    if replaced:
        profiles.remove_avatar(_upload_folder(), replaced)
    flash("已改回微信的昵称和头像", "info")
    return redirect(_after_profile())


@bp.get("/media/avatars/<filename>")
def avatar(filename: str):
    folder = _upload_folder() / profiles.AVATAR_FOLDER
    response = send_from_directory(folder, filename, max_age=365 * 24 * 3600)
    response.cache_control.immutable = True  # the name carries the picture's hash
    return response


def _profile_page(reader: Reader | None, name: str = "", name_error=None, avatar_error=None):
    status = 400 if name_error or avatar_error else 200
    page = render_template(
        "accounts/profile.html",
        reader=reader,
        name=name or "",
        name_error=name_error,
        avatar_error=avatar_error,
        name_max=profiles.NAME_MAX_CHARS,
        avatar_max_mb=profiles.MAX_AVATAR_BYTES // (1024 * 1024),
        in_wechat=is_wechat_browser(),
        next_url=safe_next(request.args.get("next"), ""),
    )
    return page, status


def _after_profile() -> str:
    """Back where the reader came from (the tip form, say), else 我的."""
    return safe_next(request.args.get("next"), url_for(".me"))


def _wechat_reader_or_403() -> None:
    """Only WeChat readers choose a name (see profiles); a guest is shown no form to send."""
    reader = current_reader()
    if reader is None or reader.is_guest:
        abort(403, description="绑定微信后才能设置昵称和头像")


def _upload_folder() -> Path:
    return Path(current_app.config["UPLOAD_FOLDER"])


@bp.route("/creator/login", methods=["GET", "POST"])
def creator_login():
    form = CreatorLoginForm()
    if form.validate_on_submit():
        refused = _login_refusal(form.username.data)
        if refused is not None:
            flash(refused.message, "error")
            page = render_template("accounts/creator_login.html", form=form)
            return page, 429, {"Retry-After": str(refused.retry_after)}
        creator = creators.authenticate(form.username.data, form.password.data)
        if creator is not None:
            login_throttle.clear_username(form.username.data)
            begin_session(creator=creator)  # nothing of the session before the login survives
            db.session.commit()
            login_user(creator, remember=False)
            return redirect(safe_next(request.args.get("next"), url_for("studio.index")))
        login_throttle.record_failure(_client_ip(), form.username.data)
        db.session.commit()
        flash("用户名或密码不正确", "error")
    return render_template("accounts/creator_login.html", form=form)


def _login_refusal(username: str) -> login_throttle.Refusal | None:
    config = current_app.config
    if not config.get("RATELIMIT_ENABLED", True):  # flask-limiter's switch turns it off too
        return None
    return login_throttle.refusal(
        _client_ip(),
        username,
        config["CREATOR_LOGIN_LIMIT"],
        config["CREATOR_LOGIN_USERNAME_LIMIT"],
    )


def _client_ip() -> str:
    # Behind a proxy this is the visitor's address only when PROXY_FIX_HOPS is right (README).
    return request.remote_addr or ""


@bp.post("/creator/logout")
@login_required
def creator_logout():
    """End the creator's session on the server. A reader this browser was stays signed in,
    in a session of its own, so no copy of the old cookie opens the studio again."""
    reader = current_reader()
    logout_user()
    if reader is not None:
        begin_session(reader)
    else:
        end_session()
    db.session.commit()
    return redirect(url_for("storefront.home"))
