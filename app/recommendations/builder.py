"""Building the shop's recommendation lists from its orders with the engine in app/recs.

`rebuild` reads purchases (paid orders not refunded in full), reading progress (a weaker
"viewed" signal) and the published catalog, runs the engine, and stores each item's lists,
each reader's list, the popular fallback and an offline evaluation, for
`app.recommendations.lookups` to look up. It runs from `flask recs rebuild`, from
`flask shop demo`, and by itself from `flask orders reconcile` (cron) once enough new purchases
have come in.

Only those commands import this module: the engine (numba, scipy, jieba) stays out of the web
workers, about 65 MB each.
"""

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from app.catalog import queries
from app.extensions import db
from app.models import (
    HOLDS_MONEY,
    ItemRecs,
    Order,
    OrderKind,
    Product,
    ProductStatus,
    ReaderRecs,
    ReadingProgress,
    RecsModel,
)
from app.models.base import utcnow
from app.recommendations.engine import (
    association,
    blend,
    content,
    evaluation,
    interactions,
    popularity,
    similarity,
)
from app.transactions import begin_write

STORED = 12  # per list: more than any slot shows, so owned items can be dropped
REBUILD_AFTER_PURCHASES = 20


@dataclass(frozen=True)
class Built:
    items: int
    readers: int
    purchases: int
    evaluation: dict


def _purchases():
    """(reader_id, product_id, paid_at) of every purchase the reader still has paid for."""
    return db.session.execute(
        sa.select(Order.reader_id, Order.product_id, Order.paid_at)
        .join(Product, Product.id == Order.product_id)
        .where(
            Order.kind == OrderKind.PURCHASE,
            Order.status.in_(HOLDS_MONEY),
            Product.status == ProductStatus.PUBLISHED,
        )
        .order_by(Order.paid_at, Order.id)
    ).all()


def purchase_count() -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Order)
        .where(Order.kind == OrderKind.PURCHASE, Order.status.in_(HOLDS_MONEY))
    )


def rebuild(cache_dir: Path | None = None) -> Built:
    """Compute and store every list. Reads first, then replaces the stored lists in one
    short write transaction, so pages keep their old lists until the new ones are in."""
    products = db.session.scalars(
        sa.select(Product).where(Product.status == ProductStatus.PUBLISHED).order_by(Product.id)
    ).all()
    item_of = {p.id: i for i, p in enumerate(products)}
    rows = [r for r in _purchases() if r.product_id in item_of]
    readers = sorted({r.reader_id for r in rows})
    reader_of = {r: i for i, r in enumerate(readers)}
    bought = (
        np.array([reader_of[r.reader_id] for r in rows], dtype=np.int64),
        np.array([item_of[r.product_id] for r in rows], dtype=np.int64),
    )
    viewed = _viewed(reader_of, item_of)
    n_items = len(products)

    history = interactions.interaction_matrix(len(readers), n_items, bought, viewed)
    owned = interactions.interaction_matrix(len(readers), n_items, bought)
    item_similar = similarity.item_neighbours(owned)
    terms = [
        content.item_terms(p.title, p.summary, [t.name for t in p.tags], cache_dir)
        for p in products
    ]
    content_similar = content.content_neighbours(terms)
    times = np.array([r.paid_at.timestamp() for r in rows], dtype=np.float64)
    popular = popularity.decayed_popularity(bought[1], times, n_items, utcnow().timestamp())
    counts = np.bincount(bought[1], minlength=n_items)

    ids = np.array([p.id for p in products] + [0], dtype=np.int64)  # -1 (padding) maps to 0
    related, _ = blend.related_items(item_similar, content_similar, popular, counts, n=STORED)
    also, _ = _also_bought(item_similar)
    for_readers, _ = blend.recommend_for_readers(
        history, owned, item_similar, popular, content_similar, n=STORED
    )
    figures = _evaluate(bought, times, len(readers), n_items, content_similar)
    figures["pairs"] = [
        {
            "a": int(ids[p.a]),
            "b": int(ids[p.b]),
            "readers": p.readers,
            "support": round(p.support, 4),
            "confidence": round(p.confidence, 4),
            "lift": round(p.lift, 3),
        }
        for p in association.co_purchase_pairs(owned)
    ]

    begin_write()
    db.session.execute(sa.delete(ItemRecs))
    db.session.execute(sa.delete(ReaderRecs))
    if n_items:
        db.session.execute(
            sa.insert(ItemRecs),
            [
                {
                    "product_id": int(ids[i]),
                    "also_bought": _product_ids(ids, also[i]),
                    "related": _product_ids(ids, related[i]),
                }
                for i in range(n_items)
            ],
        )
    if readers:
        db.session.execute(
            sa.insert(ReaderRecs),
            [
                {"reader_id": reader_id, "items": _product_ids(ids, for_readers[i])}
                for i, reader_id in enumerate(readers)
            ],
        )
    model = db.session.get(RecsModel, 1) or RecsModel(id=1)
    model.built_at = utcnow()
    model.purchases = purchase_count()
    model.popular = _product_ids(ids, np.argsort(-popular, kind="stable")[:STORED])
    model.evaluation = figures
    db.session.add(model)
    # Cached pages show the lists (大家都在看, 买了这个的读者也买了, 为你推荐): new lists are a
    # new version of the catalog's pages, for anonymous visitors and signed-in readers alike.
    queries.mark_content_changed()
    db.session.commit()
    return Built(n_items, len(readers), len(rows), figures)


def _viewed(reader_of: dict, item_of: dict):
    """Reading progress as views: the reader opened the item's lessons."""
    rows = [
        (reader_of[r], item_of[p])
        for r, p in db.session.execute(
            sa.select(ReadingProgress.reader_id, ReadingProgress.product_id)
        )
        if r in reader_of and p in item_of
    ]
    if not rows:
        return None
    readers, items = zip(*rows, strict=True)
    return np.array(readers, dtype=np.int64), np.array(items, dtype=np.int64)


def _also_bought(item_similar: similarity.Neighbours):
    """买了这个的读者也买了: purchases only, no content or popularity mixed in."""
    return item_similar.indices[:, :STORED], item_similar.scores[:, :STORED]


def _product_ids(ids: np.ndarray, indices: np.ndarray) -> list[int]:
    return [int(ids[i]) for i in indices if i >= 0]


def _evaluate(bought, times, n_readers: int, n_items: int, content_similar) -> dict:
    """Leave-last-out on the shop's own purchases: how often the blend's top 10 holds each
    reader's latest purchase, given the rest. Too little data says so instead."""
    if n_readers == 0:
        return {"readers": 0}
    kept, held_out = evaluation.leave_last_out(bought[0], bought[1], times, n_readers)
    evaluated = np.flatnonzero(held_out != evaluation.NOT_EVALUATED)
    if evaluated.size == 0:
        return {"readers": 0}
    train = interactions.interaction_matrix(n_readers, n_items, (bought[0][kept], bought[1][kept]))
    popular = popularity.decayed_popularity(
        bought[1][kept], times[kept], n_items, float(times.max()), math.inf
    )
    recommended, _ = blend.recommend_for_readers(
        train[evaluated],
        train[evaluated],
        similarity.item_neighbours(train),
        popular,
        content_similar,
        n=10,
    )
    target = held_out[evaluated]
    return {
        "readers": int(evaluated.size),
        "hr10": round(evaluation.hit_rate(recommended, target), 4),
        "ndcg10": round(evaluation.ndcg(recommended, target), 4),
        "coverage": round(evaluation.catalog_coverage(recommended, n_items), 4),
    }


def rebuild_if_due(cache_dir: Path | None = None) -> Built | None:
    """Rebuild when the lists were never built or enough purchases came in since."""
    model = db.session.get(RecsModel, 1)
    if model is not None and purchase_count() - model.purchases < REBUILD_AFTER_PURCHASES:
        return None
    return rebuild(cache_dir)
