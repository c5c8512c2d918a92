"""Coupons (优惠券): what a code takes off, whether it applies, and its uses.

A use is reserved when an order is placed with the code, kept when that order is paid,
and given back when it closes unpaid. Reserving is one UPDATE that counts the use only
while the total limit allows (the database decides, not a read-then-write), and the
per-reader count is read after that UPDATE has locked the coupon's row: concurrent
checkouts can never go past either limit, on SQLite (one writer at a time) or PostgreSQL
(the row lock orders them).
"""

import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from app.extensions import db
from app.models import Order, OrderStatus, Product
from app.models.base import utcnow
from app.models.pricing import Coupon, CouponKind, CouponUse, CouponUseStatus
from app.money import format_fen
from app.pricing.refusals import CouponRefused, PromotionInvalid

_CODE = re.compile(r"[A-Z0-9]{4,20}")
# Codes the shop makes: no 0/O or 1/I, which readers mistype when copying from a picture.
_CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
_HOLDING = (CouponUseStatus.RESERVED, CouponUseStatus.KEPT)


class CouponInvalid(PromotionInvalid):
    """The studio's (or the shell's) coupon cannot be made; the message says why."""


def normalise_code(text: str | None) -> str:
    """What the reader typed, as codes are stored: full-width folded, spaces gone, upper."""
    return unicodedata.normalize("NFKC", text or "").strip().replace(" ", "").upper()[:40]


def find(code: str) -> Coupon | None:
    code = normalise_code(code)
    if not _CODE.fullmatch(code):
        return None
    return db.session.scalar(sa.select(Coupon).where(Coupon.code == code))


def discount_fen(coupon: Coupon, price_fen: int) -> int:
    """What the coupon takes off this price: never more than the price; a percentage is
    rounded down to the fen, so the reader never pays less than the percentage says."""
    if coupon.kind is CouponKind.AMOUNT:
        return min(coupon.amount_off_fen, price_fen)
    return price_fen * coupon.percent_off // 100


def describe(coupon: Coupon) -> str:
    """'减 ¥10' / '8 折' / '免费' and the minimum spend: how the studio and the page say it."""
    if coupon.kind is CouponKind.AMOUNT:
        what = f"减 {format_fen(coupon.amount_off_fen)}"
    elif coupon.percent_off == 100:
        what = "免费"
    else:
        what = f"{_zhe(100 - coupon.percent_off)} 折"
    if coupon.min_spend_fen:
        return f"满 {format_fen(coupon.min_spend_fen)} {what}"
    return what


def _zhe(percent_paid: int) -> str:
    """80 -> '8', 85 -> '8.5', 5 -> '0.5': 折 counts tenths of the price."""
    return f"{percent_paid / 10:g}"


def check(coupon: Coupon | None, product: Product, reader_id: int | None, price_fen: int, now):
    """Raise CouponRefused with the reason the coupon does not apply to this purchase (for
    the reader `reader_id`, when known, at the price `price_fen` before the coupon)."""
    if coupon is None:
        raise CouponRefused("coupon_unknown", "没有这个优惠码，请检查后再试")
    _check_terms(coupon, product, price_fen, now)
    # A use the reader's open order for this item holds is theirs to take again: placing
    # that order again reuses it, or closes it (giving the use back) and takes a new one.
    own = reader_id is not None and _held_by_open_order(coupon, reader_id, product.id)
    if coupon.total_limit is not None and coupon.used_count - own >= coupon.total_limit:
        raise CouponRefused("coupon_used_up", "这个优惠码已经被用完了")
    if reader_id is not None:
        _check_reader_limit(coupon, reader_id, own)


def _check_terms(coupon: Coupon, product: Product, price_fen: int, now) -> None:
    if coupon.disabled_at is not None:
        raise CouponRefused("coupon_disabled", "这个优惠码已停用")
    if coupon.starts_at is not None and now < coupon.starts_at:
        raise CouponRefused("coupon_not_started", "这个优惠码还没到可用的时间")
    if coupon.ends_at is not None and now >= coupon.ends_at:
        raise CouponRefused("coupon_expired", "这个优惠码已过期")
    if not coupon.for_all_items and product.id not in {p.id for p in coupon.products}:
        raise CouponRefused("coupon_not_for_item", "这个优惠码不适用于这件商品")
    if price_fen < coupon.min_spend_fen:
        raise CouponRefused(
            "coupon_min_spend", f"这个优惠码满 {format_fen(coupon.min_spend_fen)} 才能使用"
        )


def _held_by_open_order(coupon: Coupon, reader_id: int, product_id: int) -> bool:
    return (
        db.session.scalar(
            sa.select(CouponUse.id)
            .join(Order, Order.id == CouponUse.order_id)
            .where(
                CouponUse.coupon_id == coupon.id,
                CouponUse.reader_id == reader_id,
                CouponUse.status == CouponUseStatus.RESERVED,
                Order.product_id == product_id,
                Order.status == OrderStatus.PENDING,
            )
        )
        is not None
    )


def _check_reader_limit(coupon: Coupon, reader_id: int, own: bool = False) -> None:
    uses = db.session.execute(
        sa.select(CouponUse.status, sa.func.count())
        .where(
            CouponUse.coupon_id == coupon.id,
            CouponUse.reader_id == reader_id,
            CouponUse.status.in_(_HOLDING),
        )
        .group_by(CouponUse.status)
    ).all()
    held = dict(uses)
    if sum(held.values()) - own < coupon.per_reader_limit:
        return
    if held.get(CouponUseStatus.RESERVED):
        raise CouponRefused(
            "coupon_reader_limit",
            "这个优惠码正用在你一笔未支付的订单上：完成那笔支付，或等它到期后再用",
        )
    raise CouponRefused("coupon_reader_limit", "你已经用过这个优惠码了")


def reserve(
    coupon: Coupon,
    product: Product,
    reader_id: int,
    order_id: int,
    price_fen: int,
    discount: int,
    now,
) -> None:
    """Take a use for an order being placed (at `price_fen` before the coupon, `discount`
    off), inside its write transaction. CouponRefused when a limit was reached meanwhile:
    the caller rolls the order back with it."""
    taken = db.session.execute(
        sa.update(Coupon)
        .where(
            Coupon.id == coupon.id,
            sa.or_(Coupon.total_limit.is_(None), Coupon.used_count < Coupon.total_limit),
        )
        .values(used_count=Coupon.used_count + 1)
        .execution_options(synchronize_session=False)
    )
    if not taken.rowcount:
        raise CouponRefused("coupon_used_up", "这个优惠码已经被用完了")
    db.session.refresh(coupon)
    _check_terms(coupon, product, price_fen, now)  # as of this transaction, not the quote's
    _check_reader_limit(coupon, reader_id)  # read now that the coupon's row is locked
    db.session.add(
        CouponUse(
            coupon_id=coupon.id, reader_id=reader_id, order_id=order_id, discount_fen=discount
        )
    )
    db.session.flush()


_uses = CouponUse.__table__
_coupons = Coupon.__table__
_KEEP = (
    sa.update(_uses)
    .where(_uses.c.order_id == sa.bindparam("order_id_"))
    .values(status=CouponUseStatus.KEPT.value)
    .returning(_uses.c.status)
)


def keep_for_paid_order(connection: sa.Connection, order_id: int) -> None:
    """The order was paid: its use is kept. A use given back when the order closed is taken
    again, past the total limit if need be: the reader paid the discounted price."""
    before = connection.execute(
        sa.select(_uses.c.status, _uses.c.coupon_id).where(_uses.c.order_id == order_id)
    ).first()
    if before is None:
        return
    connection.execute(_KEEP, {"order_id_": order_id})
    if before.status == CouponUseStatus.RELEASED.value:
        connection.execute(
            sa.update(_coupons)
            .where(_coupons.c.id == before.coupon_id)
            .values(used_count=_coupons.c.used_count + 1)
        )


def release_for_closed_order(order_id: int) -> None:
    """The order closed unpaid: its reserved use goes back to the coupon."""
    use = db.session.scalar(
        sa.select(CouponUse).where(
            CouponUse.order_id == order_id, CouponUse.status == CouponUseStatus.RESERVED
        )
    )
    if use is None:
        return
    use.status = CouponUseStatus.RELEASED
    db.session.execute(
        sa.update(Coupon)
        .where(Coupon.id == use.coupon_id)
        .values(used_count=Coupon.used_count - 1)
        .execution_options(synchronize_session=False)
    )
    db.session.flush()


def move_uses(from_reader_id: int, to_reader_id: int) -> None:
    """A guest merged into a WeChat reader: their uses are the person's (counted against
    the per-reader limit from now on)."""
    db.session.execute(
        sa.update(CouponUse)
        .where(CouponUse.reader_id == from_reader_id)
        .values(reader_id=to_reader_id)
        .execution_options(synchronize_session=False)
    )


# --- making coupons -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CouponDraft:
    """What the studio form or `flask shop coupon create` asks for."""

    kind: CouponKind
    amount_off_fen: int | None = None
    percent_off: int | None = None
    code: str = ""  # empty: the shop makes one
    name: str = ""
    min_spend_fen: int = 0
    product_ids: tuple[int, ...] = ()  # empty: every item
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    total_limit: int | None = None
    per_reader_limit: int = 1


def create(draft: CouponDraft, count: int = 1) -> list[Coupon]:
    """`count` coupons alike (a batch of one-off codes when count > 1: then the codes are
    made here, each with the draft's limits)."""
    _validate(draft, count)
    products = _products(draft.product_ids)
    made = []
    for _ in range(count):
        code = normalise_code(draft.code) if count == 1 and draft.code else _unused_code()
        if find(code) is not None:
            raise CouponInvalid(f"优惠码 {code} 已经存在")
        coupon = Coupon(
            code=code,
            name=draft.name.strip()[:40],
            kind=draft.kind,
            amount_off_fen=draft.amount_off_fen if draft.kind is CouponKind.AMOUNT else None,
            percent_off=draft.percent_off if draft.kind is CouponKind.PERCENT else None,
            min_spend_fen=draft.min_spend_fen,
            for_all_items=not products,
            products=products,
            starts_at=draft.starts_at,
            ends_at=draft.ends_at,
            total_limit=draft.total_limit,
            per_reader_limit=draft.per_reader_limit,
        )
        db.session.add(coupon)
        db.session.flush()
        made.append(coupon)
    return made


def _validate(draft: CouponDraft, count: int) -> None:
    if not 1 <= count <= 1000:
        raise CouponInvalid("一次可以生成 1 到 1000 个优惠码")
    if draft.code and count == 1 and not _CODE.fullmatch(normalise_code(draft.code)):
        raise CouponInvalid("优惠码须为 4 到 20 位字母或数字")
    if draft.kind is CouponKind.AMOUNT and not (draft.amount_off_fen or 0) > 0:
        raise CouponInvalid("立减金额须大于 0")
    if draft.kind is CouponKind.PERCENT and not 1 <= (draft.percent_off or 0) <= 100:
        raise CouponInvalid("折扣须在 1% 到 100% 之间")
    if draft.min_spend_fen < 0:
        raise CouponInvalid("最低消费不能为负数")
    if draft.starts_at and draft.ends_at and draft.ends_at <= draft.starts_at:
        raise CouponInvalid("结束时间须晚于开始时间")
    if draft.total_limit is not None and draft.total_limit < 1:
        raise CouponInvalid("总数量至少为 1")
    if draft.per_reader_limit < 1:
        raise CouponInvalid("每人限用次数至少为 1")


def _products(ids: tuple[int, ...]) -> list[Product]:
    if not ids:
        return []
    found = list(db.session.scalars(sa.select(Product).where(Product.id.in_(ids))))
    if len(found) != len(set(ids)):
        raise CouponInvalid("选中的商品有的不存在")
    return found


def _unused_code() -> str:
    while True:
        code = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))
        if find(code) is None:
            return code


def disable(coupon: Coupon) -> None:
    """No new use from now on; open orders that reserved one can still be paid."""
    coupon.disabled_at = coupon.disabled_at or utcnow()


def listing() -> list[Coupon]:
    return list(db.session.scalars(sa.select(Coupon).order_by(Coupon.created_at.desc())))


@dataclass(frozen=True)
class CouponUsage:
    paid: int = 0  # uses kept by paid orders
    open: int = 0  # uses reserved by orders not yet paid
    discount_fen: int = 0  # what the paid uses took off


def usage() -> dict[int, CouponUsage]:
    """Per coupon id: its uses (the studio's list)."""
    rows = db.session.execute(
        sa.select(
            CouponUse.coupon_id,
            CouponUse.status,
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(CouponUse.discount_fen), 0),
        )
        .where(CouponUse.status.in_(_HOLDING))
        .group_by(CouponUse.coupon_id, CouponUse.status)
    ).all()
    found: dict[int, dict] = {}
    for coupon_id, status, count, fen in rows:
        entry = found.setdefault(coupon_id, {})
        if status is CouponUseStatus.KEPT:
            entry.update(paid=count, discount_fen=int(fen))
        else:
            entry.update(open=count)
    return {coupon_id: CouponUsage(**entry) for coupon_id, entry in found.items()}


def state(coupon: Coupon, now: datetime | None = None) -> str:
    """停用 / 未开始 / 已过期 / 已用完 / 可用: what the studio's list says of it."""
    now = now or utcnow()
    if coupon.disabled_at is not None:
        return "停用"
    if coupon.starts_at is not None and now < coupon.starts_at:
        return "未开始"
    if coupon.ends_at is not None and now >= coupon.ends_at:
        return "已过期"
    if coupon.total_limit is not None and coupon.used_count >= coupon.total_limit:
        return "已用完"
    return "可用"
