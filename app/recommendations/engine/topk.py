"""Top-k per row of a dense score array, with a deterministic order.

Rows are ranked by score, highest first; equal scores go to the lower column index, so a rebuild
of the same data stores the same lists. Only positive scores count: an item with nothing in
common with another is not its neighbour, and short rows are padded with index -1, score 0.

The ranking is one compiled pass per row (numba): a row of n scores costs n comparisons and a
few insertions into a list of k, where sorting or partitioning each row would cost several
passes over it. It releases the GIL, so callers may rank different rows in threads.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from app.recommendations.engine.lists import PAD


def top_k_rows(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k best columns of each row of `scores` (2-D) as (indices int32, scores float32).

    Both arrays have shape (rows, k); a row with fewer than k positive scores is padded with
    index -1 and score 0.
    """
    n_rows = scores.shape[0]
    indices = np.full((n_rows, k), PAD, dtype=np.int32)
    best = np.zeros((n_rows, k), dtype=np.float32)
    if k > 0:
        top_k_into(np.ascontiguousarray(scores), 0, n_rows, indices, best)
    return indices, best


@njit(nogil=True, cache=True)
def top_k_into(scores, start, stop, indices, best):
    """Rank rows start..stop-1 of `scores` into the same rows of `indices` and `best`.

    `indices` must come filled with -1 and `best` with 0, both k wide.
    """
    k = indices.shape[1]
    kept = np.zeros(k, dtype=np.float64)  # the scores in full precision while ranking
    for row in range(start, stop):
        values = scores[row]
        found = indices[row]
        filled = 0
        threshold = 0.0  # positive scores enter until k are kept, then only better ones
        for column in range(values.shape[0]):
            value = values[column]
            # Strictly greater: a later column that ties the k-th score never displaces it.
            if value > threshold:
                slot = filled if filled < k else k - 1
                while slot > 0 and kept[slot - 1] < value:  # equal scores stay ahead
                    kept[slot] = kept[slot - 1]
                    found[slot] = found[slot - 1]
                    slot -= 1
                kept[slot] = value
                found[slot] = column
                if filled < k:
                    filled += 1
                if filled == k:
                    threshold = kept[k - 1]
        best[row, :filled] = kept[:filled]
