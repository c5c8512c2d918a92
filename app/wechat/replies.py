"""What a follower of the Official Account is answered (passive replies to the callback).

- following (subscribe, also by a scene QR code): a welcome and the featured items;
- 知识付费 in the menu (click `kcfk`): the latest items;
- a text: the shop searched for it; the item when one matches, the search page when several,
  a helpful reply when none;
- 扫描二维码 (scancode_push): what was scanned, acknowledged;
- events that need no answer (unfollowing, opening a menu link, a template message's outcome):
  nothing; anything else: a friendly reply, never an error.

WeChat shows at most 8 cards in an answer to an event, and only 1 in an answer to a message.
"""

from wechatpy.replies import ArticlesReply, BaseReply, EmptyReply, TextReply

from app.catalog import queries
from app.models import Product
from app.web.public_address import public_url
from app.wechat.menu import LATEST_ITEMS_KEY

CARDS_FOR_AN_EVENT = 8
SILENT_EVENTS = {"unsubscribe", "view", "templatesendjobfinish", "location", "scan"}
HELP = "回复关键词搜索店里的内容，或点菜单「知识付费」看最新上架。"


def reply_to(message) -> BaseReply:
    if message.type == "event":
        return _event_reply(message)
    if message.type == "text":
        return _search_reply(message)
    return TextReply(message=message, content=f"收到啦。{HELP}")


def _event_reply(message) -> BaseReply:
    event = message.event
    if event in ("subscribe", "subscribe_scan"):
        welcome = f"欢迎关注{queries.shop_profile().name}！{HELP}"
        featured = queries.featured_products(CARDS_FOR_AN_EVENT) or queries.latest_products(
            CARDS_FOR_AN_EVENT
        )
        if not featured:
            return TextReply(message=message, content=welcome)
        return _cards(message, featured)
    if event == "click" and message.key == LATEST_ITEMS_KEY:
        latest = queries.latest_products(CARDS_FOR_AN_EVENT)
        if not latest:
            return TextReply(message=message, content="店里还没有上架的内容，敬请期待。")
        return _cards(message, latest)
    if event == "scancode_push":
        return TextReply(message=message, content=f"扫到了：{message.scan_result}")
    if event in SILENT_EVENTS:
        return EmptyReply()
    return TextReply(message=message, content=f"你好！{HELP}")


def _search_reply(message) -> BaseReply:
    words = queries.search_query(message.content)
    found = queries.search_products(words, limit=CARDS_FOR_AN_EVENT + 1) if words else []
    if not found:
        return TextReply(
            message=message, content=f"没有找到和「{words or message.content}」有关的内容。{HELP}"
        )
    if len(found) == 1:
        return _cards(message, found)
    titles = "、".join(f"《{item.title}》" for item in found[:3])
    more = "+" if len(found) > CARDS_FOR_AN_EVENT else ""
    card = {
        "title": f"找到 {min(len(found), CARDS_FOR_AN_EVENT)}{more} 篇「{words}」相关内容",
        "description": titles,
        "image": _cover_url(found[0]),
        "url": public_url("storefront.search", q=words),
    }
    return ArticlesReply(message=message, articles=[card])


def _cards(message, items: list[Product]) -> ArticlesReply:
    return ArticlesReply(
        message=message,
        articles=[
            {
                "title": item.title,
                "description": item.summary,
                "image": _cover_url(item),
                "url": public_url("storefront.product", slug=item.slug),
            }
            for item in items[:CARDS_FOR_AN_EVENT]
        ],
    )


def _cover_url(item: Product) -> str:
    return public_url("storefront.cover", filename=item.cover_image) if item.cover_image else ""
