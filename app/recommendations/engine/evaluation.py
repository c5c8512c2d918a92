"""Offline evaluation: hide each reader's latest purchase, and see whether the top N finds it.

- HR@N: the share of readers whose held-out item is in their top N.
- NDCG@N: the same, discounted by position: 1 / log2(rank + 2) for a hit at rank 0..N-1.
- Catalog coverage: the share of the catalog that appears in anyone's top N.

The split is by time, as the shop lives it: everything before a reader's last purchase is known,
the last one is what we try to predict. Readers with fewer than two purchases have nothing to
learn from and nothing to hide at the same time, so they are not evaluated (their purchases still
train the models).
"""

from __future__ import annotations

import numpy as np

NOT_EVALUATED = -1


def leave_last_out(
    readers: np.ndarray, items: np.ndarray, timestamps: np.ndarray, n_readers: int
) -> tuple[np.ndarray, np.ndarray]:
    """(train mask over the events, held-out item per reader or -1).

    The held-out event is each reader's latest by timestamp; equal timestamps go to the larger
    item index, so the split is the same on every run.
    """
    readers = np.asarray(readers, dtype=np.int64)
    order = np.lexsort((items, timestamps, readers))
    per_reader = np.bincount(readers, minlength=n_readers)
    last_positions = np.cumsum(per_reader) - 1
    evaluated = per_reader >= 2
    held_out_events = order[last_positions[evaluated]]
    train = np.ones(readers.size, dtype=bool)
    train[held_out_events] = False
    held_out = np.full(n_readers, NOT_EVALUATED, dtype=np.int64)
    held_out[readers[held_out_events]] = np.asarray(items)[held_out_events]
    return train, held_out


def hit_ranks(recommended: np.ndarray, held_out: np.ndarray) -> np.ndarray:
    """Per row, the position of the held-out item in the recommended row, or -1 for a miss."""
    hits = recommended == held_out[:, None]
    return np.where(hits.any(axis=1), hits.argmax(axis=1), -1)


def hit_rate(recommended: np.ndarray, held_out: np.ndarray) -> float:
    """HR@N over the rows of `recommended` (readers × N) against one held-out item each."""
    if len(held_out) == 0:
        return 0.0
    return float(np.mean(hit_ranks(recommended, held_out) >= 0))


def ndcg(recommended: np.ndarray, held_out: np.ndarray) -> float:
    """NDCG@N with one relevant item per reader (the ideal DCG is 1)."""
    if len(held_out) == 0:
        return 0.0
    ranks = hit_ranks(recommended, held_out)
    gains = np.where(ranks >= 0, 1.0 / np.log2(np.maximum(ranks, 0) + 2.0), 0.0)
    return float(gains.mean())


def catalog_coverage(recommended: np.ndarray, n_items: int) -> float:
    """The share of the n_items catalog recommended to at least one reader (-1 pads ignored)."""
    if n_items == 0:
        return 0.0
    shown = np.unique(recommended[recommended >= 0])
    return shown.size / n_items
