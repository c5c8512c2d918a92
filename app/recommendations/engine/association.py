"""Co-purchase pairs for the creator: which items sell together, and how much more than chance.

For items a and b among R readers, with n_a and n_b buyers and n_ab buyers of both:
support = n_ab / R, confidence(a → b) = n_ab / n_a, lift = confidence / (n_b / R). A lift
above 1 means buying a makes buying b more likely than it is in general.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


@dataclass(frozen=True)
class Pair:
    a: int
    b: int
    readers: int  # bought both
    support: float
    confidence: float  # of a's buyers, the share who also bought b
    lift: float


def co_purchase_pairs(owned: sp.spmatrix, top: int = 20, min_readers: int = 2) -> list[Pair]:
    """The `top` pairs bought together by the most readers (at least `min_readers`), each
    direction a → b where a has fewer buyers (the more telling confidence); ties by lift."""
    owned = sp.csr_matrix(owned, dtype=np.float64)
    owned.data[:] = 1.0
    n_readers = owned.shape[0]
    if n_readers == 0:
        return []
    buyers = np.asarray(owned.sum(axis=0)).ravel()
    together = sp.triu(owned.T @ owned, k=1).tocoo()  # each unordered pair once
    keep = together.data >= min_readers
    rows, cols, counts = together.row[keep], together.col[keep], together.data[keep]
    if counts.size == 0:
        return []
    # a is the item with fewer buyers: "of those who bought a, this share bought b too".
    a = np.where(buyers[rows] <= buyers[cols], rows, cols)
    b = np.where(a == rows, cols, rows)
    confidence = counts / buyers[a]
    lift = confidence / (buyers[b] / n_readers)
    order = np.lexsort((-lift, -counts))[:top]
    return [
        Pair(
            a=int(a[i]),
            b=int(b[i]),
            readers=int(counts[i]),
            support=float(counts[i] / n_readers),
            confidence=float(confidence[i]),
            lift=float(lift[i]),
        )
        for i in order
    ]
