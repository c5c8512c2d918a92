"""Popularity: what sells now. The fallback for a new reader, a new item, or a thin history.

Each purchase counts 0.5 ** (age / half-life): one a half-life old counts half as much as one
today, so last month's hits outrank last year's without a hard window that drops items off a cliff.
A half-life of `math.inf` counts every purchase fully (all-time popularity).
"""

from __future__ import annotations

import numpy as np

DEFAULT_HALF_LIFE_DAYS = 30.0
SECONDS_PER_DAY = 86_400.0


def decayed_popularity(
    items: np.ndarray,
    timestamps: np.ndarray,
    n_items: int,
    now: float,
    half_life_days: float = DEFAULT_HALF_LIFE_DAYS,
) -> np.ndarray:
    """Per item, the sum of its purchases' weights (float64, length n_items).

    `items` and `timestamps` (Unix seconds) describe one purchase each; `now` is Unix seconds.
    A purchase stamped after `now` (clock skew) counts as made now.
    """
    ages_days = np.maximum(now - np.asarray(timestamps, dtype=np.float64), 0.0) / SECONDS_PER_DAY
    weights = np.exp2(-ages_days / half_life_days)
    return np.bincount(np.asarray(items, dtype=np.int64), weights=weights, minlength=n_items)
