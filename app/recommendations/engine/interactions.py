"""The reader × item matrix every recommender here starts from.

A purchase is the strong signal (1.0). A view is a weaker, implicit one: it says a reader looked,
not that they paid, so it counts `view_weight` (0.2 by default). A reader who viewed and then
bought counts 1.0, not 1.2: a cell holds its strongest signal, and repeats count once.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

DEFAULT_VIEW_WEIGHT = 0.2

Pairs = tuple[np.ndarray, np.ndarray]
"""(reader indices, item indices), one entry per event; repeats are fine."""


def interaction_matrix(
    n_readers: int,
    n_items: int,
    purchases: Pairs,
    views: Pairs | None = None,
    view_weight: float = DEFAULT_VIEW_WEIGHT,
) -> sp.csr_matrix:
    """Readers × items (CSR): 1.0 where a reader bought, `view_weight` where they only viewed."""
    matrix = _indicator(n_readers, n_items, purchases)
    if views is not None and view_weight > 0:
        matrix = matrix.maximum(_indicator(n_readers, n_items, views) * view_weight).tocsr()
    matrix.eliminate_zeros()
    return matrix


def _indicator(n_readers: int, n_items: int, pairs: Pairs) -> sp.csr_matrix:
    readers, items = (np.asarray(a, dtype=np.int64) for a in pairs)
    ones = np.ones(readers.size, dtype=np.float64)
    matrix = sp.csr_matrix((ones, (readers, items)), shape=(n_readers, n_items))
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix
