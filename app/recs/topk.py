"""Top-k per row of a dense score block, with a deterministic order.

Rows are ranked by score, highest first; equal scores go to the lower column index, so a rebuild
of the same data stores the same lists. Only positive scores count: an item with nothing in
common with another is not its neighbour, and short rows are padded with index -1, score 0.
"""

from __future__ import annotations

import numpy as np

PAD = -1


def top_k_rows(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k best columns of each row of `scores` (2-D) as (indices int32, scores float32).

    Both arrays have shape (rows, k); a row with fewer than k positive scores is padded with
    index -1 and score 0.
    """
    n_rows, n_cols = scores.shape
    indices = np.full((n_rows, k), PAD, dtype=np.int32)
    best = np.zeros((n_rows, k), dtype=np.float32)
    if n_rows == 0 or n_cols == 0 or k <= 0:
        return indices, best
    take = min(k, n_cols)
    cols = np.argpartition(scores, n_cols - take, axis=1)[:, n_cols - take :]
    values = np.take_along_axis(scores, cols, axis=1)
    order = np.lexsort((cols, -values), axis=1)
    cols = np.take_along_axis(cols, order, axis=1)
    values = np.take_along_axis(values, order, axis=1)
    # argpartition keeps an arbitrary few of the columns that tie the k-th score; redo those rows
    # with every tied column in view, so that the lower index wins. (A k-th score of 0 needs no
    # redo: zeros are dropped anyway.)
    threshold = values[:, -1:]
    tied = (np.count_nonzero(scores >= threshold, axis=1) > take) & (threshold[:, 0] > 0)
    if tied.any():
        cols[tied], values[tied] = _top_k_with_ties(scores[tied], take)
    positive = values > 0
    indices[:, :take] = np.where(positive, cols, PAD)
    best[:, :take] = np.where(positive, values, 0.0)
    return indices, best


def _top_k_with_ties(scores: np.ndarray, take: int) -> tuple[np.ndarray, np.ndarray]:
    """Like `top_k_rows` for rows whose k-th score is tied: every tied column is considered."""
    n_rows = scores.shape[0]
    threshold = -np.partition(-scores, take - 1, axis=1)[:, take - 1]
    rows, cols = np.nonzero(scores >= threshold[:, None])
    values = scores[rows, cols]
    order = np.lexsort((cols, -values, rows))
    rows, cols, values = rows[order], cols[order], values[order]
    rank = np.arange(rows.size) - np.searchsorted(rows, np.arange(n_rows))[rows]
    keep = rank < take
    return cols[keep].reshape(n_rows, take), values[keep].reshape(n_rows, take)
