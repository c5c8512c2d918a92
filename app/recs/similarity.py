"""Cosine neighbours: item-to-item collaborative filtering, and the same kernel for content.

The cosine of rows a and b is a·b / (|a| |b|). Each row is divided by its norm exactly once
(`unit_rows`); after that a plain dot product *is* the cosine. Dividing the product by the norms
again would shrink every similarity by |a| |b| and rank popular items last.

The work is the sparse product of the unit rows with their transpose, in blocks of rows made
dense for the top-k: at most `BLOCK_ENTRIES` scores at a time, so memory stays bounded for a
catalog of tens of thousands of items. (scipy's sparse product holds the GIL: threads would not
make it faster.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from app.recs.topk import PAD, top_k_rows

DEFAULT_K = 20
# Scores held at once: 4M float64 (32 MB), so 2,000 items in one block, 20,000 in blocks of 200.
BLOCK_ENTRIES = 4_000_000


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


def unit_rows(matrix: sp.spmatrix) -> sp.csr_matrix:
    """`matrix` (CSR) with every non-empty row scaled to length 1; empty rows stay empty."""
    rows = sp.csr_matrix(matrix, dtype=np.float64, copy=True)
    norms = np.sqrt(np.asarray(rows.multiply(rows).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    rows.data /= np.repeat(norms, np.diff(rows.indptr))
    return rows


def item_neighbours(interactions: sp.spmatrix, k: int = DEFAULT_K) -> Neighbours:
    """Top-k items by cosine between the item columns of a readers × items matrix."""
    return dot_neighbours(unit_rows(sp.csr_matrix(interactions).T), k)


def dot_neighbours(unit: sp.csr_matrix, k: int = DEFAULT_K) -> Neighbours:
    """Top-k other rows of `unit` by dot product: the cosine, since its rows have length 1."""
    n_rows = unit.shape[0]
    indices = np.full((n_rows, k), PAD, dtype=np.int32)
    scores = np.zeros((n_rows, k), dtype=np.float32)
    columns = unit.T.tocsr()
    block = max(1, BLOCK_ENTRIES // max(n_rows, 1))
    for start in range(0, n_rows, block):
        stop = min(start + block, n_rows)
        dots = (unit[start:stop] @ columns).toarray()
        dots[np.arange(stop - start), np.arange(start, stop)] = 0.0  # not its own neighbour
        indices[start:stop], scores[start:stop] = top_k_rows(dots, k)
    return Neighbours(indices, scores)
