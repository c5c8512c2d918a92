"""赞赏: tips of any amount with a message, and the supporter wall.

A tip is an order of kind TIP. It is paid through the same gateway, state machine and
notifications as a purchase; orders.confirm_payment sees the kind and grants nothing.
Rules here are plain Python: the tip form, the JSON API and the studio all call them.
"""

import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from app.catalog import queries
from app.extensions import db
from app.models import (
    HOLDS_MONEY,
    Order,
    OrderKind,
    PayChannel,
    PaymentEventKind,
    Product,
    Reader,
    ShopProfile,
    Tip,
)
from app.models.base import utcnow
from app.money import InvalidAmount, format_fen, parse_yuan
from app.payments.attribution import DIRECT, Attribution
from app.payments.orders import OrderError, new_out_trade_no, record_event

CREATOR_TARGET = "creator"  # the API's and the URL's name for "the creator, not one item"
MESSAGE_MAX_CHARS = 100
NAME_MAX_CHARS = 20
MIN_TIP_FEN = 1
PRESET_COUNT_MAX = 8
ANONYMOUS_NAME = "匿名读者"
UNNAMED_NAME = "一位读者"


class TipRefused(OrderError):
    """A tip that cannot be made as asked; `code` for the API, `message` for people."""

    code = "bad_tip"

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        if code:
            self.code = code


@dataclass(frozen=True)
class TipSettings:
    presets_fen: tuple[int, ...]
    max_fen: int
    thanks_note: str
    show_amounts: bool

    @classmethod
    def of(cls, profile: ShopProfile) -> "TipSettings":
        return cls(
            presets_fen=tuple(profile.tip_presets_fen),
            max_fen=profile.tip_max_fen,
            thanks_note=profile.tip_thanks_note,
            show_amounts=profile.tip_show_amounts,
        )


def settings() -> TipSettings:
    return TipSettings.of(queries.shop_profile())


# --- what a reader may send ---------------------------------------------------------------------


def check_amount_fen(value, limits: TipSettings) -> int:
    """An amount in fen as the API sends it: a whole number from 1 fen to the shop's maximum."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TipRefused("金额须为整数（单位：分）", code="bad_amount")
    if value < MIN_TIP_FEN:
        raise TipRefused("赞赏金额至少 ¥0.01", code="amount_too_small")
    if value > limits.max_fen:
        raise TipRefused(f"单次赞赏最多 {format_fen(limits.max_fen)}", code="amount_too_large")
    return value


def parse_amount_yuan(text: str, limits: TipSettings) -> int:
    """An amount in yuan as a person types it ('6.66'), checked like check_amount_fen."""
    if not str(text).strip():
        raise TipRefused("请选择或输入赞赏金额", code="amount_missing")
    try:
        fen = parse_yuan(text)
    except InvalidAmount as error:
        raise TipRefused(str(error), code="bad_amount") from None
    return check_amount_fen(fen, limits)


# Characters that are not text: controls, and format characters that reorder or hide text
# (bidi overrides, zero-width spaces). The zero-width joiner stays: emoji sequences need it.
_KEEP_FORMAT = {"\u200d"}
_SPACES = re.compile(r"\s+")
_RAW_SLACK = 10  # how much longer than allowed a text may be before it is cleaned


def clean_message(text) -> str:
    """A reader's message as plain text, at most 100 characters (see _plain_text)."""
    return _plain_text(text, MESSAGE_MAX_CHARS, "留言", "message")


def clean_name(text) -> str:
    """The name a reader signs a tip with, at most 20 characters."""
    return _plain_text(text, NAME_MAX_CHARS, "署名", "name")


def _plain_text(text, max_chars: int, label: str, field: str) -> str:
    """No control or invisible characters, whitespace collapsed to single spaces. Stored
    as text and escaped wherever it is shown, so markup in it is shown, never run."""
    if text is None:
        return ""
    if not isinstance(text, str):
        raise TipRefused(f"{label}须为文字", code=f"bad_{field}")
    # Cleaning removes what is not text and collapses spaces, never more than this much:
    # a longer text is refused before the work (and memory) of normalising it.
    if len(text) > max_chars * _RAW_SLACK:
        raise TipRefused(f"{label}最多 {max_chars} 个字", code=f"{field}_too_long")
    text = unicodedata.normalize("NFC", text)
    kept = "".join(
        " " if ch.isspace() else ch
        for ch in text
        if ch.isspace() or ch in _KEEP_FORMAT or unicodedata.category(ch)[0] != "C"
    )
    cleaned = _SPACES.sub(" ", kept).strip()
    if len(cleaned) > max_chars:
        raise TipRefused(f"{label}最多 {max_chars} 个字", code=f"{field}_too_long")
    return cleaned


def find_target(target: str) -> Product | None:
    """The item a tip is for (None: the creator). Free items take tips too; drafts do not."""
    if target == CREATOR_TARGET:
        return None
    product = queries.find_product(target) if isinstance(target, str) and target else None
    if product is None or not product.is_published:
        raise TipRefused("要赞赏的内容不存在", code="not_found")
    return product


def new_request_token() -> str:
    """One per rendered tip form: submitting the same form twice makes one order."""
    return secrets.token_urlsafe(24)


# --- placing a tip ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TipRequest:
    """A checked tip as the reader asked for it (see check_amount_fen, clean_message)."""

    product: Product | None  # None: a tip for the creator
    amount_fen: int
    message: str
    anonymous: bool
    request_token: str
    display_name: str = ""


def place_tip(
    reader: Reader,
    request: TipRequest,
    channel: PayChannel,
    client_ip: str,
    ttl: timedelta,
    now: datetime | None = None,
    attribution: Attribution = DIRECT,
) -> Order:
    """A pending tip order, or the one this same form already made (a double submit).

    Unlike a purchase, an earlier open tip is left alone: two tips are two gifts, and
    WeChat will take whichever the reader pays.
    """
    now = now or utcnow()
    earlier = _order_for_token(request.request_token)
    if earlier is not None:
        if earlier.reader_id != reader.id:
            raise TipRefused("这个赞赏表单已失效，请刷新页面后重试", code="stale_form")
        return earlier

    order = Order(
        kind=OrderKind.TIP,
        out_trade_no=new_out_trade_no(now),
        reader_id=reader.id,
        product_id=request.product.id if request.product is not None else None,
        title=tip_title(request.product),
        amount_fen=request.amount_fen,
        channel=channel,
        client_ip=client_ip,
        created_at=now,
        expires_at=now + ttl,
        source=attribution.source,
        sharer_id=attribution.sharer_id,
    )
    tip = Tip(
        order=order,
        message=request.message,
        is_anonymous=request.anonymous,
        display_name="" if request.anonymous else request.display_name,
        request_token=request.request_token,
    )
    try:
        with db.session.begin_nested():
            db.session.add_all([order, tip])
    except IntegrityError:
        # The same form, submitted twice at once (PostgreSQL; SQLite serialised them).
        return _order_for_token(request.request_token)
    record_event(
        order,
        PaymentEventKind.CREATED,
        channel=channel.value,
        amount_fen=order.amount_fen,
        tip=True,
    )
    return order


def tip_title(product: Product | None) -> str:
    if product is not None:
        return f"赞赏《{product.title}》"[:120]
    profile = queries.shop_profile()
    return f"赞赏{profile.creator_name or profile.name}"[:120]


def _order_for_token(request_token: str) -> Order | None:
    return db.session.scalar(sa.select(Order).join(Tip).where(Tip.request_token == request_token))


# --- the supporter wall -------------------------------------------------------------------------


@dataclass(frozen=True)
class Supporter:
    name: str
    avatar_url: str | None  # WeChat's picture (see models.Reader)
    chosen_avatar: str | None  # or the one the reader uploaded, which wins
    message: str | None  # None when there is none or the creator hid it
    amount_fen: int | None  # None when the shop does not show amounts
    item_title: str | None  # on the creator's wall: which item the tip was for
    paid_at: datetime


@dataclass(frozen=True)
class Wall:
    supporter_count: int
    supporters: list[Supporter]


def wall(product: Product | None, limit: int = 30) -> Wall:
    """Who supported this item (or, for None, the creator: every tip in the shop).

    Newest first. Anonymous tips show no name or avatar; hidden messages and, when the
    creator chooses, amounts are left out here, so they never reach the page.
    """
    show_amounts = settings().show_amounts
    payer = aliased(Reader)
    # What is left of a partly refunded tip counts; a fully refunded one leaves the wall.
    counted = [Order.kind == OrderKind.TIP, Order.status.in_(HOLDS_MONEY)]
    if product is not None:
        counted.append(Order.product_id == product.id)
    rows = db.session.execute(
        sa.select(Order, Tip, Reader, payer, Product.title)
        .join(Tip, Tip.order_id == Order.id)
        .join(Reader, Reader.id == Order.reader_id)
        .outerjoin(payer, payer.openid == Order.payer_openid)
        .outerjoin(Product, Product.id == Order.product_id)
        .where(*counted)
        .order_by(Order.paid_at.desc(), Order.id.desc())
        .limit(limit)
    ).all()
    supporter_count = db.session.scalar(
        sa.select(sa.func.count(sa.distinct(Order.reader_id))).join(Tip).where(*counted)
    )
    return Wall(
        supporter_count=supporter_count or 0,
        supporters=[
            _supporter(order, tip, reader, paid_by, None if product else title, show_amounts)
            for order, tip, reader, paid_by, title in rows
        ],
    )


def _supporter(order, tip, reader, paid_by, item_title, show_amounts) -> Supporter:
    if tip.is_anonymous:
        name, shown = ANONYMOUS_NAME, None
    else:
        # A desktop guest who paid by scanning has no name here; the WeChat account that
        # paid may have one.
        shown = _named(reader, paid_by)
        name = tip.display_name or (shown.known_name if shown else UNNAMED_NAME)
    return Supporter(
        name=name,
        avatar_url=shown.avatar_url if shown else None,
        chosen_avatar=shown.chosen_avatar if shown else None,
        message=tip.message if tip.message and tip.message_hidden_at is None else None,
        amount_fen=order.amount_fen - order.refunded_fen if show_amounts else None,
        item_title=item_title,
        paid_at=order.paid_at,
    )


def _named(reader: Reader, paid_by: Reader | None) -> Reader | None:
    """Whoever of the tip's reader and the WeChat account that paid has a name to show."""
    return next((r for r in (reader, paid_by) if r is not None and r.known_name), None)


# --- for the creator ----------------------------------------------------------------------------


def hide_message(order: Order, hidden: bool) -> None:
    """Hide a message from the walls (or show it again); the tip itself still counts."""
    if order.tip is None:
        raise TipRefused("这不是一笔赞赏", code="not_a_tip")
    order.tip.message_hidden_at = utcnow() if hidden else None
    queries.mark_walls_changed()


def save_settings(
    presets_fen: list[int], max_fen: int, thanks_note: str, show_amounts: bool
) -> TipSettings:
    """The creator's tip settings, checked: 1–8 distinct presets, each within the maximum."""
    if not 1 <= len(presets_fen) <= PRESET_COUNT_MAX:
        raise TipRefused(f"请设置 1 到 {PRESET_COUNT_MAX} 个预设金额", code="bad_presets")
    if max_fen < MIN_TIP_FEN:
        raise TipRefused("最高金额至少 ¥0.01", code="bad_max")
    if any(fen < MIN_TIP_FEN or fen > max_fen for fen in presets_fen):
        raise TipRefused("预设金额须在 ¥0.01 与最高金额之间", code="bad_presets")
    note = _SPACES.sub(" ", thanks_note).strip()
    if len(note) > 200:
        raise TipRefused("感谢语最多 200 个字", code="bad_note")
    profile = queries.editable_shop_profile()
    profile.tip_presets_fen = sorted(set(presets_fen))
    profile.tip_max_fen = max_fen
    profile.tip_thanks_note = note
    profile.tip_show_amounts = show_amounts
    queries.mark_content_changed()
    return TipSettings.of(profile)


@dataclass(frozen=True)
class TipRecord:
    """A tip as the creator sees it: everything, including what the wall leaves out."""

    order: Order
    tip: Tip
    name: str  # anonymous stays anonymous here too: the reader asked not to be named
    item_title: str | None


def for_creator(limit: int = 200) -> list[TipRecord]:
    """Every paid tip (refunded ones too, marked by their status), newest first."""
    payer = aliased(Reader)
    rows = db.session.execute(
        sa.select(Order, Tip, Reader, payer, Product.title)
        .join(Tip, Tip.order_id == Order.id)
        .join(Reader, Reader.id == Order.reader_id)
        .outerjoin(payer, payer.openid == Order.payer_openid)
        .outerjoin(Product, Product.id == Order.product_id)
        .where(Order.kind == OrderKind.TIP, Order.paid_at.is_not(None))
        .order_by(Order.paid_at.desc(), Order.id.desc())
        .limit(limit)
    ).all()
    records = []
    for order, tip, reader, paid_by, title in rows:
        named = _named(reader, paid_by)
        if tip.is_anonymous:
            name = ANONYMOUS_NAME
        else:
            name = tip.display_name or (named.known_name if named else reader.display_name)
        records.append(TipRecord(order=order, tip=tip, name=name, item_title=title))
    return records


def find_tip_order(out_trade_no: str) -> Order | None:
    return db.session.scalar(
        sa.select(Order).where(Order.out_trade_no == out_trade_no, Order.kind == OrderKind.TIP)
    )
