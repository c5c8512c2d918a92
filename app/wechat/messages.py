"""What the 公众号's messages about a paid order say.

`compose` turns an order and a recipient into an Envelope: the openid, the template message
(its id, the keys the creator mapped filled with the order's facts, a link) and the
customer-service text (the same news in a sentence, with the link). Which of the two is
sent, if either, is app/wechat/message_delivery.py's to decide.
"""

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from app.models import MessageKind, MessageRecipient, Order, ShopProfile
from app.models.base import utcnow
from app.money import yuan_with_sign
from app.web.public_address import public_url
from app.wechat.message_settings import KEY, MessageSettings

BEIJING = ZoneInfo("Asia/Shanghai")  # WeChat's readers read times as WeChat shows its own
# The longest value WeChat takes per key type (the category templates' rules); longer facts
# are cut, a `thing` with an ellipsis.
VALUE_LIMITS = {
    "thing": 20,
    "character_string": 32,
    "phrase": 5,
    "name": 10,
    "number": 32,
    "letter": 32,
    "symbol": 5,
}
ANONYMOUS = "匿名读者"  # as the studio's tip list names an anonymous tipper
NOTHING = "无"  # a key must not be empty


class Unsendable(Exception):
    """Nobody to send this message to (no openid); the reason is for the creator."""


@dataclass(frozen=True)
class TemplateMessage:
    template_id: str
    data: dict[str, dict[str, str]]  # key -> {"value": ...}; no first / remark
    url: str


@dataclass(frozen=True)
class Envelope:
    openid: str
    template: TemplateMessage | None
    text: str  # the customer-service message


def template_name(recipient: MessageRecipient, kind: MessageKind) -> str:
    """Which of the studio's three messages this is (app/wechat/message_settings.py)."""
    if recipient is MessageRecipient.CREATOR:
        return "creator"
    return "tip" if kind is MessageKind.TIP else "purchase"


def compose(
    order: Order,
    recipient: MessageRecipient,
    kind: MessageKind,
    settings: MessageSettings,
    shop: ShopProfile,
) -> Envelope:
    """The message about this paid order for this recipient. Raises Unsendable when there is
    no openid to send it to."""
    openid = recipient_openid(
        recipient, settings.creator_openid, order.payer_openid, order.reader.openid
    )
    facts = order_facts(order, shop)
    url = _link(order, recipient)
    template = settings.templates[template_name(recipient, kind)]
    return Envelope(
        openid=openid,
        template=None
        if template is None
        else TemplateMessage(template.template_id, template_data(template.fields, facts), url),
        text=_custom_text(order, recipient, facts, url),
    )


def recipient_openid(
    recipient: MessageRecipient,
    creator_openid: str,
    payer_openid: str | None,
    reader_openid: str | None,
) -> str:
    """Where the message goes; Unsendable when nowhere."""
    if recipient is MessageRecipient.CREATOR:
        if not creator_openid:
            raise Unsendable("未设置创作者的 openid（后台 → 通知）")
        return creator_openid
    # The WeChat account that paid (WeChat named it, for this 公众号), else the reader's own.
    openid = payer_openid or reader_openid
    if not openid:
        raise Unsendable("读者没有微信身份（未用微信登录或支付）")
    return openid


def order_facts(order: Order, shop: ShopProfile) -> dict[str, str]:
    """Every fact a template key can show (message_settings.FACTS), as text."""
    tip = order.tip if order.is_tip else None
    if tip is None:
        item, buyer = order.title, order.reader.display_name
    else:
        item = order.product.title if order.product else (shop.creator_name or shop.name)
        buyer = ANONYMOUS if tip.is_anonymous else (tip.display_name or order.reader.display_name)
    return {
        "item": item,
        "amount": yuan_with_sign(order.amount_fen),
        "paid_at": _beijing(order.paid_at or utcnow()),
        "order_no": order.out_trade_no,
        "kind": "赞赏" if tip is not None else "购买",
        "status": "支付成功",
        "buyer": buyer,
        "message": (tip.message if tip is not None else "") or NOTHING,
        "shop": shop.name,
    }


def _beijing(moment: datetime) -> str:
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")


def template_data(fields: dict[str, str], facts: dict[str, str]) -> dict[str, dict[str, str]]:
    """The template's `data`: each key the creator mapped, with its fact cut to what the key
    type takes. Only those keys: the old first / remark are not sent."""
    data = {}
    for key, fact in fields.items():
        match = KEY.fullmatch(key)
        data[key] = {"value": _fit(match["type"] if match else "", facts.get(fact) or NOTHING)}
    return data


def _fit(key_type: str, value: str) -> str:
    limit = VALUE_LIMITS.get(key_type)
    if limit is None or len(value) <= limit:
        return value
    return value[: limit - 1] + "…" if key_type == "thing" else value[:limit]


def _link(order: Order, recipient: MessageRecipient) -> str:
    """Where the message leads: the item (or the creator's page) for the reader, the order or
    the tip in the studio for the creator."""
    if recipient is MessageRecipient.CREATOR:
        if order.is_tip:
            return public_url("studio.tip_list") + f"#tip-{order.out_trade_no}"
        return public_url("studio.order_detail", out_trade_no=order.out_trade_no)
    if order.product is not None:
        return public_url("storefront.product", slug=order.product.slug)
    return public_url("storefront.about")


def _custom_text(order: Order, recipient: MessageRecipient, facts: dict, url: str) -> str:
    """A customer-service text: the news in a sentence, and the link (WeChat shows <a href>
    in a text message as a link; other angle brackets are made full-width, so a reader's
    message or name cannot add a link of its own)."""
    f = {key: value.replace("<", "＜").replace(">", "＞") for key, value in facts.items()}
    target = f"《{f['item']}》" if order.product is not None else f["item"]
    if recipient is MessageRecipient.BUYER and not order.is_tip:
        news, action = f"你已成功购买{target}，支付 {f['amount']}。", "点这里开始阅读"
    elif recipient is MessageRecipient.BUYER:
        news, action = f"谢谢你赞赏{target}！{f['amount']} 已收到。", "回去看看"
    elif not order.is_tip:
        news = f"新订单：{f['buyer']} 购买了{target}，{f['amount']}（{f['paid_at']}）。"
        action = "查看订单"
    else:
        news = f"新赞赏：{f['buyer']} 赞赏了{target}，{f['amount']}（{f['paid_at']}）。"
        if f["message"] != NOTHING:
            news += f"\n留言：{f['message']}"
        action = "查看赞赏"
    return f'{news}\n<a href="{url}">{action}</a>'
