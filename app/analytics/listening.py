"""What readers did with the audio and video lessons: per lesson, how many played it, how many
finished, the minutes played, and where those who did not finish stopped (the furthest point
each reached, in tenths of the lesson). From media_progress: one row per reader and media,
so the cost follows listeners, not plays."""

import numpy as np
import pandas as pd
import sqlalchemy as sa

from app.extensions import db
from app.models import Media, MediaProgress, MediaStatus, Product, Section

TENTHS = 10
COLUMNS = [
    "media_id",
    "item",
    "lesson",
    "kind",
    "duration_ms",
    "listeners",
    "completed",
    "completion",
    "minutes",
    "drop_off",  # listeners who stopped in each tenth of the lesson, not having finished
]


def by_lesson() -> pd.DataFrame:
    """Every playable media with its listening figures, the most listened first."""
    rows = db.session.execute(
        sa.select(
            Media.id.label("media_id"),
            Product.title.label("item"),
            sa.func.coalesce(Section.title, "").label("lesson"),
            Media.kind,
            Media.duration_ms,
            MediaProgress.furthest_ms,
            MediaProgress.played_ms,
            MediaProgress.completed_at.is_not(None).label("finished"),
        )
        .join(Product, Product.id == Media.product_id)
        .outerjoin(Section, Section.id == Media.section_id)
        .outerjoin(MediaProgress, MediaProgress.media_id == Media.id)
        .where(Media.status == MediaStatus.READY)
    ).all()
    frame = pd.DataFrame(rows, columns=[*COLUMNS[:5], "furthest_ms", "played_ms", "finished"])
    return summarise(frame)


def summarise(plays: pd.DataFrame) -> pd.DataFrame:
    """One row per media from one row per (media, listener); a media nobody played has one
    row with empty progress, and counts no listener."""
    if plays.empty:
        return pd.DataFrame(columns=COLUMNS)
    plays = plays.assign(
        listened=plays["furthest_ms"].notna(),
        finished=plays["finished"].fillna(False).astype(bool),
        played_ms=plays["played_ms"].fillna(0),
    )
    keys = ["media_id", "item", "lesson", "kind", "duration_ms"]
    summary = (
        plays.groupby(keys, sort=False)
        .agg(
            listeners=("listened", "sum"),
            completed=("finished", "sum"),
            played_ms=("played_ms", "sum"),
        )
        .reset_index()
    )
    summary["completion"] = np.where(
        summary["listeners"] > 0, summary["completed"] / summary["listeners"].clip(lower=1), 0.0
    )
    summary["minutes"] = (summary["played_ms"] / 60_000).round(1)
    stopped = plays[plays["listened"] & ~plays["finished"]]
    tenth = np.minimum(
        TENTHS - 1, (stopped["furthest_ms"] / stopped["duration_ms"] * TENTHS).astype(int)
    )
    counts = pd.crosstab(stopped["media_id"], tenth).reindex(columns=range(TENTHS), fill_value=0)
    summary["drop_off"] = [
        counts.loc[media_id].tolist() if media_id in counts.index else [0] * TENTHS
        for media_id in summary["media_id"]
    ]
    return (
        summary[COLUMNS]
        .sort_values(["listeners", "media_id"], ascending=[False, True], kind="stable")
        .reset_index(drop=True)
    )
