"""Studio: 通知 — the 公众号's messages after a payment: templates and their keys, where the
creator's notices go, and what was sent (with 重发)."""

from flask import current_app, flash, redirect, render_template, request, url_for

from app.models import MessageStatus
from app.studio import bp
from app.transactions import writing
from app.wechat import followers, message_delivery, message_settings, outbox

MIN_ROWS = 4  # empty key rows shown under a message's mapping, up to MAX_FIELDS in all


def _rows(fields: dict[str, str]) -> list[tuple[str, str]]:
    rows = list(fields.items())
    shown = min(message_settings.MAX_FIELDS, max(MIN_ROWS, len(rows) + 2))
    return rows + [("", "")] * (shown - len(rows))


def _render(submitted=None, errors=None, account_templates=None, templates_error=None, status=200):
    settings = message_settings.current(current_app.config)
    if submitted is None:
        mappings = {
            name: _rows(settings.stored[name].fields or dict(message_settings.DEFAULT_FIELDS[name]))
            for name in message_settings.MESSAGES
        }
        template_ids = {name: settings.stored[name].template_id for name in settings.stored}
        creator_openid = settings.creator_openid
    else:
        messages_in, creator_openid = submitted
        mappings = {name: _rows(dict(entry.rows)) for name, entry in messages_in.items()}
        template_ids = {name: entry.template_id for name, entry in messages_in.items()}
    page = render_template(
        "studio/messages.html",
        names=message_settings.MESSAGES,
        facts=message_settings.FACTS,
        config_keys=message_settings.CONFIG_KEYS,
        configured={
            name: current_app.config[key] for name, key in message_settings.CONFIG_KEYS.items()
        },
        template_ids=template_ids,
        mappings=mappings,
        creator_openid=creator_openid,
        errors=errors or {},
        recent_followers=followers.recent(),
        sends=outbox.recent(),
        resendable={MessageStatus.FAILED, MessageStatus.SKIPPED},
        account_templates=account_templates,
        templates_error=templates_error,
    )
    return page, status


@bp.get("/messages")
def messages_page():
    return _render()


@bp.get("/messages/templates")
def messages_account_templates():
    """The templates the 公众号 has added, read from WeChat on demand."""
    try:
        return _render(account_templates=message_delivery.account_templates())
    except message_delivery.TemplatesUnavailable as error:
        return _render(templates_error=str(error))


@bp.post("/messages/settings")
def messages_settings():
    form = request.form
    submitted = {
        name: message_settings.MessageInput(
            template_id=form.get(f"{name}-template_id", ""),
            rows=list(zip(form.getlist(f"{name}-key"), form.getlist(f"{name}-fact"), strict=False)),
        )
        for name in message_settings.MESSAGES
    }
    creator_openid = form.get("creator_openid", "")
    try:
        with writing():
            message_settings.save(submitted, creator_openid)
    except message_settings.SettingsRefused as error:
        return _render(submitted=(submitted, creator_openid), errors=error.errors, status=400)
    flash("通知设置已保存", "info")
    return redirect(url_for(".messages_page"))


@bp.post("/messages/creator-openid")
def messages_creator_openid():
    try:
        with writing():
            message_settings.set_creator_openid(request.form.get("openid", ""))
    except message_settings.SettingsRefused as error:
        flash(next(iter(error.errors.values())), "error")
    else:
        flash("已设为你的 openid：新订单和赞赏的提醒会发到这个微信", "info")
    return redirect(url_for(".messages_page") + "#creator")


@bp.post("/messages/<int:message_id>/resend")
def messages_resend(message_id: int):
    status = outbox.send_now(message_id)
    if status is None:
        flash("这条消息已发送，或正在发送", "info")
    else:
        flash(f"重发结果：{status.label}", "info" if status is MessageStatus.SENT else "error")
    return redirect(url_for(".messages_page") + "#sends")
