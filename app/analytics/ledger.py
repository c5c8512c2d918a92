"""Reading the ledger app/stats.py computes on: paid orders, straight from the database."""

from datetime import datetime

import pandas as pd
import sqlalchemy as sa

from app.analytics import stats
from app.extensions import db
from app.models import WAS_PAID, Order, OrderKind, Product

CREATOR_ITEM_TITLE = "作者本人"  # what a tip with no item was for
# Every order that was paid, whatever became of it: a full refund counts 0 fen.


def paid_ledger(kind: OrderKind | None = None, since: datetime | None = None) -> pd.DataFrame:
    query = (
        sa.select(
            Order.paid_at,
            Order.kind,
            Order.product_id,
            sa.func.coalesce(Product.title, CREATOR_ITEM_TITLE),
            Order.amount_fen - Order.refunded_fen,
        )
        .outerjoin(Product, Product.id == Order.product_id)
        .where(Order.status.in_(WAS_PAID), Order.paid_at.is_not(None))
    )
    if kind is not None:
        query = query.where(Order.kind == kind)
    if since is not None:
        query = query.where(Order.paid_at >= since)
    rows = db.session.execute(query).all()
    return stats.ledger((paid_at, k.value, pid, title, net) for paid_at, k, pid, title, net in rows)
