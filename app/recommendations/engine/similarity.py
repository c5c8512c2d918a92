"""Cosine neighbours: item-to-item collaborative filtering, and the same kernel for content.

The cosine of vectors a and b is a·b / (|a| |b|): the dot product divided by each norm exactly
once. Dividing by the norms twice would shrink every similarity by |a| |b| and rank popular
items last.

The dot products of all item pairs are BᵀB, for B the baskets × items matrix (readers × items
for purchases, words × items for content). `pairs` (beside this module) adds them up basket by
basket into a dense items × items array, in threads over disjoint row ranges:

- up to `DENSE_ITEMS` items (every shop we expect), only the pairs a < b are added, half the
  work, into the full square (at most 4096² float32, 64 MB), which is then scaled and mirrored;
- beyond, bands of rows are added with both orders of each pair, so memory stays at
  `BLOCK_ENTRIES` scores per band however large the catalog.

The sums are of the raw weights and are divided by the norms only at the end: purchases weigh 1,
so float32 counts them exactly (up to 16 million co-buyers), where adding tens of thousands of
already-divided weights would drift by 1e-4.
"""

from __future__ import annotations

import itertools
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from app.recommendations.engine.pairs import add_pairs, scale_and_mirror, survey
from app.recommendations.engine.topk import PAD, top_k_into

DEFAULT_K = 20
DENSE_ITEMS = 4096
# Scores held at once in a band (and by the blend): 4M, so 20,000 items go 200 rows at a time.
BLOCK_ENTRIES = 4_000_000
# As many threads as a small shop's 2-core server has; the pairs loop waits on memory, not
# arithmetic, so more cores would add little.
THREADS = max(1, min(2, os.cpu_count() or 1))
# Row ranges per thread: finer ranges even out the work of the busiest items.
RANGES_PER_THREAD = 2


@dataclass(frozen=True)
class Neighbours:
    """Each item's top-k neighbours: row i lists item i's neighbours, best first.

    `indices` (int32) and `scores` (float32) both have shape (n_items, k); short rows are padded
    with index -1 and score 0. These two arrays are what the shop stores.
    """

    indices: np.ndarray
    scores: np.ndarray

    def matrix(self) -> sp.csr_matrix:
        """The neighbours as an items × items CSR matrix (row i: i's neighbours and scores)."""
        n_items = self.indices.shape[0]
        rows, ranks = np.nonzero(self.indices != PAD)
        return sp.csr_matrix(
            (self.scores[rows, ranks].astype(np.float64), (rows, self.indices[rows, ranks])),
            shape=(n_items, n_items),
        )


def item_neighbours(interactions: sp.spmatrix, k: int = DEFAULT_K) -> Neighbours:
    """Each column's top-k other columns by cosine: items of a readers × items matrix, or of a
    words × items one for content."""
    baskets = sp.csr_matrix(interactions, dtype=np.float32, copy=True)
    baskets.sum_duplicates()  # add_pairs needs each basket's items once and in order
    n_items = baskets.shape[1]
    indices = np.full((n_items, k), PAD, dtype=np.int32)
    scores = np.zeros((n_items, k), dtype=np.float32)
    if n_items and k:
        with ThreadPoolExecutor(THREADS) as pool:
            if n_items <= DENSE_ITEMS:
                _rank_square(baskets, pool, indices, scores)
            else:
                _rank_bands(baskets, pool, indices, scores)
    return Neighbours(indices, scores)


def _rank_square(baskets, pool, indices, scores) -> None:
    n_items = baskets.shape[1]
    norms, work = survey(baskets.indptr, baskets.indices, baskets.data, n_items, True)
    square = np.zeros((n_items, n_items), dtype=np.float32)

    def add(rows: tuple[int, int]) -> None:
        add_pairs(baskets.indptr, baskets.indices, baskets.data, *rows, True, square[rows[0] :])

    _in_threads(pool, add, _ranges(work, 0, n_items))
    scale = _inverse(norms)
    _in_threads(pool, lambda first: scale_and_mirror(square, scale, first, THREADS), range(THREADS))
    _in_threads(pool, lambda rows: top_k_into(square, *rows, indices, scores), _even(0, n_items))


def _rank_bands(baskets, pool, indices, scores) -> None:
    n_items = baskets.shape[1]
    norms, work = survey(baskets.indptr, baskets.indices, baskets.data, n_items, False)
    scale = _inverse(norms).astype(np.float32)
    band_rows = max(1, BLOCK_ENTRIES // n_items)
    for first in range(0, n_items, band_rows):
        stop = min(first + band_rows, n_items)
        band = np.zeros((stop - first, n_items), dtype=np.float32)

        def add(rows: tuple[int, int], band=band, first=first) -> None:
            add_pairs(
                baskets.indptr, baskets.indices, baskets.data, *rows, False, band[rows[0] - first :]
            )

        _in_threads(pool, add, _ranges(work, first, stop))
        band *= scale[first:stop, None]
        band *= scale
        band[np.arange(stop - first), np.arange(first, stop)] = 0.0  # not its own neighbour
        top_k_into(band, 0, stop - first, indices[first:stop], scores[first:stop])


def _inverse(norms: np.ndarray) -> np.ndarray:
    """1 / norm, and 0 for an empty column (whose products are all 0 anyway)."""
    return np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)


def _in_threads(pool: ThreadPoolExecutor, task, shares) -> None:
    for done in [pool.submit(task, share) for share in shares]:
        done.result()


def _ranges(work: np.ndarray, first: int, stop: int) -> list[tuple[int, int]]:
    """Rows first..stop-1 cut into consecutive ranges with about the same work each."""
    total = np.cumsum(work[first:stop])
    parts = THREADS * RANGES_PER_THREAD
    if total.size == 0 or total[-1] == 0:
        return _even(first, stop)
    cuts = np.searchsorted(total, total[-1] * np.arange(1, parts) / parts) + first
    bounds = [first, *sorted(set(cuts.tolist()) - {first, stop}), stop]
    return list(itertools.pairwise(bounds))


def _even(first: int, stop: int) -> list[tuple[int, int]]:
    """Rows first..stop-1 cut into consecutive ranges of about the same size."""
    bounds = np.linspace(first, stop, THREADS * RANGES_PER_THREAD + 1).round().astype(int)
    return [(a, b) for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True) if b > a]
