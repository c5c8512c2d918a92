"""Compiled loops (numba) that add up item pairs basket by basket: the work of a cosine fit.

A basket is one row of a sparse matrix: a reader's items, or a word's documents. Entry (a, b) of
BᵀB is the sum over baskets of weight(a) · weight(b). Walking the baskets in storage order reads
memory front to back, and only the (dense) output is written out of order, which is what makes
this faster than a sparse product: that reads a whole basket again for every item in it.

Each function releases the GIL, so `similarity` (beside this module) runs disjoint row ranges
in threads.
"""

from __future__ import annotations

import numpy as np
from numba import njit

MIRROR_TILE = 64  # a 64 × 64 float32 tile and its transpose (32 KB) stay in the L1/L2 cache


@njit(nogil=True, cache=True)
def add_pairs(indptr, indices, weights, first, stop, upper, out):
    """Add weight(a) · weight(b) into out[a - first, b] for items first <= a < stop of each basket.

    With `upper`, only the pairs b > a (half the work, for a symmetric result); otherwise every
    b, a itself included. A basket's indices must be sorted and unique (canonical CSR).
    """
    for basket in range(indptr.size - 1):
        start, end = indptr[basket], indptr[basket + 1]
        for p in range(start, end):
            a = indices[p]
            if a < first:
                continue
            if a >= stop:
                break
            weight = weights[p]
            row = out[a - first]
            for q in range(p + 1 if upper else start, end):
                row[indices[q]] += weight * weights[q]


@njit(nogil=True, cache=True)
def survey(indptr, indices, weights, n_items, upper):
    """One pass over the baskets: each item's column norm, and the pairs `add_pairs` adds for it.

    The pair counts (as the first item a) let the caller give each thread a fair share of rows.
    """
    squares = np.zeros(n_items, dtype=np.float64)
    work = np.zeros(n_items, dtype=np.int64)
    for basket in range(indptr.size - 1):
        start, end = indptr[basket], indptr[basket + 1]
        for p in range(start, end):
            a = indices[p]
            squares[a] += np.float64(weights[p]) ** 2
            work[a] += end - p - 1 if upper else end - start
    return np.sqrt(squares), work


@njit(nogil=True, cache=True)
def scale_and_mirror(square, scale, first_tile, tile_step):
    """Multiply each upper entry (a, b) by scale[a] · scale[b] and copy it to (b, a).

    Works tile row by tile row (first_tile, first_tile + tile_step, ...): threads given different
    first tiles write disjoint entries.
    """
    n = square.shape[0]
    for top in range(first_tile * MIRROR_TILE, n, tile_step * MIRROR_TILE):
        for left in range(top, n, MIRROR_TILE):
            for i in range(top, min(top + MIRROR_TILE, n)):
                for j in range(max(left, i + 1), min(left + MIRROR_TILE, n)):
                    value = square[i, j] * scale[i] * scale[j]
                    square[i, j] = value
                    square[j, i] = value
