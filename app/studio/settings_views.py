"""Studio: 设置 — the shop's profile, tip settings, WeChat configuration, the password."""

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user

from app.catalog import queries, shop_settings
from app.payments import tips
from app.readers import creators
from app.studio import bp
from app.transactions import writing
from app.web.public_address import public_url


def _render(profile=None, profile_errors=None, password_errors=None, status=200):
    urls = shop_settings.ShopUrls(
        payment_notify=public_url("checkout.payment_notify"),
        refund_notify=public_url("checkout.refund_notify"),
        oauth_callback=public_url("accounts.wechat_callback"),
        pay_directory=public_url("checkout.my_orders") + "/",
    )
    page = render_template(
        "studio/settings.html",
        profile=profile or shop_settings.ProfileInput.of(queries.shop_profile()),
        profile_errors=profile_errors or {},
        limits=shop_settings.PROFILE_LIMITS,
        password_errors=password_errors or {},
        tip_settings=tips.settings(),
        wechat=shop_settings.wechat_status(current_app.config, urls),
        username=current_user.username,
        password_min=creators.PASSWORD_MIN_CHARS,
        password_max=creators.PASSWORD_MAX_CHARS,
    )
    return page, status


@bp.get("/settings")
def settings():
    return _render()


@bp.post("/settings/profile")
def settings_profile():
    form = request.form
    submitted = shop_settings.ProfileInput(
        name=form.get("name", ""),
        tagline=form.get("tagline", ""),
        creator_name=form.get("creator_name", ""),
        intro_md=form.get("intro_md", ""),
    )
    try:
        with writing():
            shop_settings.save_profile(submitted)
    except shop_settings.ProfileRefused as error:
        return _render(profile=submitted, profile_errors=error.errors, status=400)
    flash("店铺资料已保存", "info")
    return redirect(url_for(".settings") + "#profile")


@bp.post("/settings/password")
def settings_password():
    form = request.form
    new = form.get("new_password", "")
    if new != form.get("repeat_password", ""):
        return _render(password_errors={"repeat": "两次输入的新密码不一致"}, status=400)
    try:
        with writing():
            creators.change_password(
                current_user._get_current_object(), form.get("current_password", ""), new
            )
    except creators.PasswordRefused as error:
        return _render(password_errors={error.field: error.message}, status=400)
    login_user(current_user._get_current_object())  # this session goes on; the others end
    flash("密码已修改，其他设备上的登录已退出", "info")
    return redirect(url_for(".settings") + "#password")
