"""Studio: 公众号菜单 — the custom menu the shop would push, the one WeChat holds, push and
delete. Every call goes through app/wechat/menu.py, as `flask wechat menu ...` does."""

from flask import current_app, flash, redirect, render_template, url_for

from app.studio import bp
from app.wechat import menu


@bp.get("/wechat/menu")
def wechat_menu():
    try:
        planned, planned_problem = menu.configured_menu(), None
    except menu.MenuConfigError as error:
        planned, planned_problem = None, str(error)
    held = menu.show()
    return render_template(
        "studio/wechat_menu.html",
        planned=planned,
        planned_problem=planned_problem,
        from_config=bool(current_app.config["WECHAT_MENU"]),
        held=held,
        in_step=menu.same_menu(planned, held.menu),
        callback_on=bool(current_app.config["WECHAT_TOKEN"]),
        sandbox=current_app.config["WECHAT_SANDBOX"],
    )


@bp.post("/wechat/menu/push")
def wechat_menu_push():
    return _report(menu.push())


@bp.post("/wechat/menu/delete")
def wechat_menu_delete():
    return _report(menu.delete())


def _report(answer: menu.MenuAnswer):
    flash(answer.message, "info" if answer.ok else "error")
    return redirect(url_for(".wechat_menu"))
