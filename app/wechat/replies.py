"""What a follower of the Official Account is answered (passive replies to the callback).

- following (subscribe): a welcome and the featured items; following by scanning a poster's
  带参数二维码, the shared item first; a follower scanning one (SCAN): the shared item;
- 知识付费 in the menu (click `kcfk`): the latest items;
- a text: the shop searched for it; the item when one matches, the search page when several,
  a helpful reply when none;
- 扫描二维码 (scancode_push): what was scanned, acknowledged;
- events that need no answer (unfollowing, opening a menu link, a template message's outcome):
  nothing; anything else: a friendly reply, never an error.

WeChat shows at most 8 cards in an answer to an event, and only 1 in an answer to a message.
Every link says where it came from (`?via=reply|search|poster`, and the poster's sharer), so
an order that follows is credited to it (app/payments/attribution.py).
"""

from wechatpy.replies import ArticlesReply, BaseReply, EmptyReply, TextReply

from app.catalog import queries
from app.extensions import db
from app.models import OrderSource, Product
from app.web.public_address import public_url
from app.wechat import scenes
from app.wechat.menu import LATEST_ITEMS_KEY

CARDS_FOR_AN_EVENT = 8
SILENT_EVENTS = {"unsubscribe", "view", "templatesendjobfinish", "location", "scan"}
FRIEND_SHARED = "朋友分享给你的内容，点开就能看。"
HELP = "回复关键词搜索店里的内容，或点菜单「知识付费」看最新上架。"


def reply_to(message) -> BaseReply:
    if message.type == "event":
        return _event_reply(message)
    if message.type == "text":
        return _search_reply(message)
    return TextReply(message=message, content=f"收到啦。{HELP}")


def _event_reply(message) -> BaseReply:
    event = message.event
    shared = _shared_by_poster(message) if event in ("subscribe_scan", "scan") else None
    shared_card = [_shared_card(shared, message)] if shared is not None else []
    if event in ("subscribe", "subscribe_scan"):
        welcome = f"欢迎关注{queries.shop_profile().name}！{HELP}"
        featured = queries.featured_products(CARDS_FOR_AN_EVENT) or queries.latest_products(
            CARDS_FOR_AN_EVENT
        )
        others = [_card(item, OrderSource.REPLY) for item in featured if item != shared]
        cards = shared_card + others
        if not cards:
            return TextReply(message=message, content=welcome)
        return _reply(message, cards)
    if shared is not None:  # a follower scanned a poster
        return _reply(message, shared_card)
    if event == "click" and message.key == LATEST_ITEMS_KEY:
        latest = queries.latest_products(CARDS_FOR_AN_EVENT)
        if not latest:
            return TextReply(message=message, content="店里还没有上架的内容，敬请期待。")
        return _reply(message, [_card(item, OrderSource.REPLY) for item in latest])
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
        return _reply(message, [_card(found[0], OrderSource.SEARCH)])
    titles = "、".join(f"《{item.title}》" for item in found[:3])
    more = "+" if len(found) > CARDS_FOR_AN_EVENT else ""
    card = {
        "title": f"找到 {min(len(found), CARDS_FOR_AN_EVENT)}{more} 篇「{words}」相关内容",
        "description": titles,
        "image": _cover_url(found[0]),
        "url": public_url("storefront.search", q=words, via=OrderSource.SEARCH.value),
    }
    return ArticlesReply(message=message, articles=[card])


def _shared_by_poster(message) -> Product | None:
    """The item a poster's 带参数二维码 shared, if its scene names a published one."""
    scene = scenes.parse_scene(message.scene_id)
    item = db.session.get(Product, scene.product_id) if scene is not None else None
    return item if item is not None and item.is_published else None


def _shared_card(item: Product, message) -> dict:
    card = _card(item, OrderSource.POSTER, by=scenes.parse_scene(message.scene_id).code)
    card["description"] = FRIEND_SHARED + item.summary
    return card


def _card(item: Product, via: OrderSource, **tags) -> dict:
    tags = {k: v for k, v in tags.items() if v}
    return {
        "title": item.title,
        "description": item.summary,
        "image": _cover_url(item),
        "url": public_url("storefront.product", slug=item.slug, via=via.value, **tags),
    }


def _reply(message, cards: list[dict]) -> ArticlesReply:
    return ArticlesReply(message=message, articles=cards[:CARDS_FOR_AN_EVENT])


def _cover_url(item: Product) -> str:
    return public_url("storefront.cover", filename=item.cover_image) if item.cover_image else ""
