"""Recommendations in the shop: the stored lists looked up per page, and what they earn.

The lists are built offline (`app.recommendations.builder`). Pages call `also_bought`, `related` and
`for_reader` (from the reader's stored list, read with their session): one primary-key read
each, owned items dropped as they read. The studio's 推荐 tab
reads `slot_figures` and `model_summary`.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from app.extensions import db
from app.models import (
    WAS_PAID,
    ItemRecs,
    Order,
    Product,
    ProductStatus,
    ReaderRecs,
    RecSlotDaily,
    RecsModel,
)
from app.recommendations.engine.lists import pick_unowned

# --- lookups for pages ----------------------------------------------------------------------


def _published(ids: list[int], n: int) -> list[Product]:
    if not ids:
        return []
    found = {
        p.id: p
        for p in db.session.scalars(
            sa.select(Product).where(Product.id.in_(ids), Product.status == ProductStatus.PUBLISHED)
        )
    }
    return [found[i] for i in ids if i in found][:n]


def _pick(stored: list[int], owned: set[int], n: int, exclude: int | None = None) -> list[Product]:
    skip = owned | ({exclude} if exclude is not None else set())
    return _published(pick_unowned(stored, skip, n + 2), n)


def also_bought(product: Product, owned: set[int], n: int = 4) -> list[Product]:
    row = db.session.get(ItemRecs, product.id)
    return _pick(row.also_bought if row else [], owned, n, product.id)


def related(product: Product, owned: set[int], n: int = 4) -> list[Product]:
    row = db.session.get(ItemRecs, product.id)
    stored = row.related if row else popular_ids()
    return _pick(stored, owned, n, product.id)


def for_reader(stored: Sequence[int], owned: set[int], n: int = 4) -> tuple[str, list[Product]]:
    """("for_you", items) from a reader's stored list (read with their session, see
    app/readers/snapshot.py), else ("popular", items)."""
    if stored:
        picked = _pick(list(stored), owned, n)
        if picked:
            return "for_you", picked
    return "popular", _pick(popular_ids(), owned, n)


def popular_ids() -> list[int]:
    model = db.session.get(RecsModel, 1)
    return model.popular if model else []


# --- what they earn, for the studio -------------------------------------------------------------


@dataclass(frozen=True)
class SlotFigures:
    slot: str
    impressions: int
    clicks: int
    orders: int  # orders placed after a click from this slot
    paid: int
    paid_fen: int

    @property
    def click_rate(self) -> float:
        return self.clicks / self.impressions if self.impressions else 0.0

    @property
    def conversion(self) -> float:
        """Paid orders per click."""
        return self.paid / self.clicks if self.clicks else 0.0


SLOT_LABELS = {
    "also_bought": "买了这个的读者也买了",
    "related": "相关内容",
    "for_you": "为你推荐",
    "popular": "大家都在看",
}


def slot_figures(first_day, last_day, since, until) -> list[SlotFigures]:
    """Per slot: impressions and clicks over shop days [first_day, last_day], and the orders
    credited to it created in [since, until) (UTC)."""
    shown = {
        slot: (int(i or 0), int(c or 0))
        for slot, i, c in db.session.execute(
            sa.select(
                RecSlotDaily.slot,
                sa.func.sum(RecSlotDaily.impressions),
                sa.func.sum(RecSlotDaily.clicks),
            )
            .where(RecSlotDaily.day >= first_day, RecSlotDaily.day <= last_day)
            .group_by(RecSlotDaily.slot)
        )
    }
    paid_statuses = [s.value for s in WAS_PAID]
    credited = {
        slot: (int(n), int(paid or 0), int(fen or 0))
        for slot, n, paid, fen in db.session.execute(
            sa.select(
                Order.rec_slot,
                sa.func.count(),
                sa.func.sum(sa.case((Order.status.in_(paid_statuses), 1), else_=0)),
                sa.func.sum(
                    sa.case(
                        (Order.status.in_(paid_statuses), Order.amount_fen - Order.refunded_fen),
                        else_=0,
                    )
                ),
            )
            .where(Order.rec_slot.is_not(None), Order.created_at >= since, Order.created_at < until)
            .group_by(Order.rec_slot)
        )
    }
    return [
        SlotFigures(slot, *shown.get(slot, (0, 0)), *credited.get(slot, (0, 0, 0)))
        for slot in SLOT_LABELS
    ]


def model_summary() -> dict | None:
    """When the lists were built, from what, how they scored, coverage and the top pairs."""
    model = db.session.get(RecsModel, 1)
    if model is None:
        return None
    published = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Product)
        .where(Product.status == ProductStatus.PUBLISHED)
    )
    listed: set[int] = set()
    for also, rel in db.session.execute(sa.select(ItemRecs.also_bought, ItemRecs.related)):
        listed.update(also[:4])
        listed.update(rel[:4])
    for (items,) in db.session.execute(sa.select(ReaderRecs.items)):
        listed.update(items[:4])
    titles = dict(db.session.execute(sa.select(Product.id, Product.title)).all())
    pairs = [
        {**p, "a_title": titles.get(p["a"], "?"), "b_title": titles.get(p["b"], "?")}
        for p in model.evaluation.get("pairs", [])
    ]
    return {
        "built_at": model.built_at,
        "purchases": model.purchases,
        "evaluation": {k: v for k, v in model.evaluation.items() if k != "pairs"},
        "coverage": len(listed) / published if published else 0.0,
        "pairs": pairs,
    }
