"""Stored recommendations: computed offline by app/recommendations.py, looked up per page."""

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import UTCDateTime, db
from app.models.rollups import CLUSTERED


class ItemRecs(db.Model):
    """An item's lists, best first, longer than a page shows (owned items are dropped then)."""

    __tablename__ = "item_recs"

    product_id: Mapped[int] = mapped_column(
        sa.ForeignKey("products.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    also_bought: Mapped[list[int]] = mapped_column(sa.JSON, default=list)  # purchases only
    related: Mapped[list[int]] = mapped_column(sa.JSON, default=list)  # the blend, content too


class ReaderRecs(db.Model):
    """A reader's 为你推荐 list, for readers with a history when the model was built."""

    __tablename__ = "reader_recs"

    reader_id: Mapped[int] = mapped_column(
        sa.ForeignKey("readers.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    items: Mapped[list[int]] = mapped_column(sa.JSON, default=list)


class RecsModel(db.Model):
    """One row: when the lists were built, from how many purchases, the popular fallback,
    and the offline evaluation of that build."""

    __tablename__ = "recs_model"

    id: Mapped[int] = mapped_column(primary_key=True)
    built_at: Mapped[datetime] = mapped_column(UTCDateTime)
    purchases: Mapped[int]
    popular: Mapped[list[int]] = mapped_column(sa.JSON, default=list)
    evaluation: Mapped[dict] = mapped_column(sa.JSON, default=dict)


class RecSlotDaily(db.Model):
    """Per day, slot and recommended item: how often it was shown and clicked."""

    __tablename__ = "rec_slot_daily"
    __table_args__ = CLUSTERED

    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    slot: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    product_key: Mapped[int] = mapped_column(primary_key=True)
    impressions: Mapped[int] = mapped_column(default=0)
    clicks: Mapped[int] = mapped_column(default=0)
