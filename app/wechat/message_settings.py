"""What the 公众号 sends readers and the creator, as the creator set it in the studio.

Four messages, each sent as a template message when it has a template:
- `purchase`: to the reader who bought an item;
- `tip`: to the reader who tipped;
- `creator`: to the creator (their openid, set here too), for each new paid order and tip;
- `membership`: to a reader whose 会员 pass ends in a few days (app/pricing/memberships.py).

A template is one the creator picked in 公众号后台 (广告与服务 → 模板消息), with its keys in
WeChat's category form (`thing1`, `amount2`, `time3`, `character_string4`, ...). The creator
says which of the message's facts (FACTS) fills which key. The old `first` and `remark` fields are
refused: WeChat no longer shows them.

The one rule for template ids: the studio's, when it has one; else the configuration's
(WECHAT_TEMPLATE_PURCHASE, _TIP, _CREATOR, _MEMBERSHIP); else none, and the
message goes as a customer-service message when WeChat allows one. A template without keys
set in the studio uses DEFAULT_FIELDS.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa

from app.catalog import queries
from app.config import TEMPLATE_ID
from app.extensions import db
from app.models import ShopProfile

MESSAGES = {
    "purchase": "读者购买成功",
    "tip": "读者赞赏成功",
    "creator": "新订单、新赞赏提醒（发给创作者）",
    "membership": "会员即将到期（发给读者）",
}
CONFIG_KEYS = {name: f"WECHAT_TEMPLATE_{name.upper()}" for name in MESSAGES}
# The facts of a paid order a template key can show (app/wechat/messages.py computes them).
# The item of a tip is the item tipped, or the creator's name for a tip to the creator.
ORDER_FACTS = {
    "item": "内容名称",
    "amount": "金额",
    "paid_at": "支付时间",
    "order_no": "订单号",
    "kind": "类型：购买/赞赏",
    "status": "状态：支付成功",
    "buyer": "读者",
    "message": "赞赏留言",
    "shop": "店铺名称",
}
# The facts of a pass about to end (app/pricing/memberships.py computes them).
MEMBERSHIP_FACTS = {
    "item": "会员名称",
    "ends_at": "到期时间",
    "status": "状态：即将到期",
    "buyer": "读者",
    "shop": "店铺名称",
}
FACTS = {
    "purchase": ORDER_FACTS,
    "tip": ORDER_FACTS,
    "creator": ORDER_FACTS,
    "membership": MEMBERSHIP_FACTS,
}
# What fits the common templates of a knowledge shop (购买成功通知, 新订单通知).
DEFAULT_FIELDS = {
    "purchase": {
        "thing1": "item",
        "amount2": "amount",
        "time3": "paid_at",
        "character_string4": "order_no",
    },
    "tip": {
        "thing1": "item",
        "amount2": "amount",
        "time3": "paid_at",
        "character_string4": "order_no",
    },
    "creator": {
        "thing1": "item",
        "amount2": "amount",
        "time3": "paid_at",
        "character_string4": "order_no",
        "thing5": "buyer",
        "phrase6": "kind",
    },
    "membership": {"thing1": "item", "time2": "ends_at"},  # 会员到期提醒
}
MAX_FIELDS = 8
# A key is its type and its number: thing1, amount2, character_string4.
KEY = re.compile(r"(?P<type>[a-z][a-z_]{0,29}?)(?P<number>[0-9]{1,2})")
# Some key types take only one kind of value; WeChat refuses anything else.
TIMES = {"paid_at", "ends_at"}
FACTS_FOR_TYPE = {"amount": {"amount"}, "time": TIMES, "date": TIMES}
OPENID = re.compile(r"[0-9A-Za-z_-]{6,64}")


@dataclass(frozen=True)
class Template:
    template_id: str
    fields: dict[str, str]  # template key -> fact
    from_config: bool  # the id is the configuration's: the studio has none


@dataclass(frozen=True)
class StoredMessage:
    """One message's settings as the studio stored them."""

    template_id: str
    fields: dict[str, str]


@dataclass(frozen=True)
class MessageInput:
    """One message's settings as the studio's form sent them: rows of (key, fact)."""

    template_id: str
    rows: list[tuple[str, str]]


@dataclass(frozen=True)
class MessageSettings:
    stored: dict[str, StoredMessage]
    templates: dict[str, Template | None]  # what is sent: the rule above applied
    creator_openid: str


class SettingsRefused(ValueError):
    """The form's problems, one Chinese message per field name."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def current(config: Mapping) -> MessageSettings:
    saved = db.session.execute(SAVED).first()
    return from_saved(*(saved or ({}, "")), config=config)


# Two columns, not the whole profile: read right after a payment (app/wechat/outbox.py).
SAVED = sa.select(ShopProfile.message_templates, ShopProfile.creator_openid).where(
    ShopProfile.id == 1
)


def from_saved(saved: Mapping | None, creator_openid: str | None, config: Mapping):
    """The settings from the profile's two columns (None when the profile was never saved)."""
    stored = {name: _stored(saved or {}, name) for name in MESSAGES}
    templates = {
        name: _template(name, stored[name], config[CONFIG_KEYS[name]]) for name in MESSAGES
    }
    return MessageSettings(stored, templates, creator_openid or "")


def _stored(saved: Mapping, name: str) -> StoredMessage:
    entry = saved.get(name) or {}
    return StoredMessage(entry.get("template_id", ""), dict(entry.get("fields") or {}))


def _template(name: str, stored: StoredMessage, configured_id: str) -> Template | None:
    template_id = stored.template_id or configured_id
    if not template_id:
        return None
    return Template(
        template_id=template_id,
        fields=stored.fields or dict(DEFAULT_FIELDS[name]),
        from_config=not stored.template_id,
    )


def save(messages: Mapping[str, MessageInput], creator_openid: str) -> None:
    """Check and store the settings; SettingsRefused names every field that is wrong, and
    nothing is stored then. The caller commits (app.transactions.writing)."""
    errors: dict[str, str] = {}
    cleaned = {name: _check(name, messages[name], errors) for name in MESSAGES}
    openid = creator_openid.strip()
    if openid and not OPENID.fullmatch(openid):
        errors["creator_openid"] = "openid 应为字母、数字、- 或 _（在下方“最近互动”中可以找到）"
    if errors:
        raise SettingsRefused(errors)
    profile = queries.editable_shop_profile()
    profile.message_templates = {
        name: {"template_id": entry.template_id, "fields": entry.fields}
        for name, entry in cleaned.items()
    }
    profile.creator_openid = openid


def set_creator_openid(openid: str) -> None:
    """The creator picked their openid from the users who wrote to the account last."""
    if not OPENID.fullmatch(openid):
        raise SettingsRefused({"creator_openid": "openid 格式不对"})
    queries.editable_shop_profile().creator_openid = openid


def _check(name: str, entry: MessageInput, errors: dict[str, str]) -> StoredMessage:
    template_id = entry.template_id.strip()
    if template_id and not TEMPLATE_ID.fullmatch(template_id):
        errors[f"{name}-template_id"] = "模板 ID 应为字母、数字、- 或 _，从公众号后台复制"
    fields: dict[str, str] = {}
    for key, fact in entry.rows:
        key = key.strip()
        if not key and not fact:
            continue
        problem = _field_problem(key, fact, FACTS[name], fields)
        if problem:
            errors.setdefault(f"{name}-fields", problem)
        else:
            fields[key] = fact
    if len(fields) > MAX_FIELDS:
        errors.setdefault(f"{name}-fields", f"最多 {MAX_FIELDS} 个关键词")
    return StoredMessage(template_id, fields)


def _field_problem(
    key: str, fact: str, facts: Mapping[str, str], so_far: Mapping[str, str]
) -> str | None:
    if key in ("first", "remark"):
        return f"{key} 是旧模板的字段，微信已不再显示，请不要填写"
    match = KEY.fullmatch(key)
    if match is None:
        return f"“{key}”不是模板的关键词：应像 thing1、amount2、time3，见模板详情"
    if fact not in facts:
        return f"请为 {key} 选择要显示的内容"
    if key in so_far:
        return f"{key} 填了两次"
    allowed = FACTS_FOR_TYPE.get(match["type"], set(facts)) & set(facts)
    if not allowed:
        return f"{key} 的类型在这条消息里没有可显示的内容：请换一个模板"
    if fact not in allowed:
        return f"{key} 只能显示" + "、".join(facts[fact] for fact in sorted(allowed))
    return None
