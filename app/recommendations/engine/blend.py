"""The blend: item-to-item, content and popularity mixed, for an item page and for a reader.

Collaborative filtering is the best signal once there is history, and no signal without it. So the
weight it gets grows with the evidence: for an item with c purchases it is c / (c + confidence),
for a reader with h items in their history h / (h + confidence). The rest goes to content
(`content_share` of it) and popularity. Each part is scaled to [0, 1] first, so the weights mean
what they say. Popularity always keeps a sliver of weight, so lists fill up even when the other
signals run out.

A reader's score for an item is the sum of its similarities to the items in their history (the
items they own weigh 1.0, items they only viewed less; see `interactions`). Owned items are never
returned, and neither is the item whose page it is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from app.recommendations.engine.similarity import BLOCK_ENTRIES, Neighbours
from app.recommendations.engine.topk import PAD, top_k_rows

DEFAULT_N = 10


@dataclass(frozen=True)
class BlendWeights:
    """How fast collaborative filtering takes over, and how the rest is split.

    A confidence of 0 means neighbours only (wherever there is any history); `math.inf` means
    no neighbours at all.
    """

    confidence: float = 5.0
    content_share: float = 0.5


def related_items(
    item_similar: Neighbours,
    content_similar: Neighbours,
    popularity: np.ndarray,
    purchase_counts: np.ndarray,
    n: int = DEFAULT_N,
    weights: BlendWeights = BlendWeights(),
) -> tuple[np.ndarray, np.ndarray]:
    """Each item's top-n related items ("读者也买了" / "相关内容"): (indices, scores), (n_items, n).

    Collaborative filtering weighs c / (c + confidence) for an item bought c times.
    """
    n_items = popularity.size
    cf_weight = _evidence_weight(np.asarray(purchase_counts, dtype=np.float64), weights)
    self_rows = sp.identity(n_items, format="csr")
    return _blend_rows(
        history=self_rows,
        exclude=self_rows,
        cf_weight=cf_weight,
        item_similar=item_similar.matrix(),
        content_similar=content_similar.matrix(),
        popularity=popularity,
        content_share=weights.content_share,
        n=n,
    )


def recommend_for_readers(
    history: sp.spmatrix,
    owned: sp.spmatrix,
    item_similar: Neighbours,
    popularity: np.ndarray,
    content_similar: Neighbours | None = None,
    n: int = DEFAULT_N,
    weights: BlendWeights = BlendWeights(),
) -> tuple[np.ndarray, np.ndarray]:
    """Each reader's top-n items ("为你推荐"): (indices, scores), both (n_readers, n).

    `history` is the readers × items interaction matrix, `owned` marks what each reader already
    has (never recommended). Without `content_similar` the non-CF weight all goes to popularity.
    """
    history = sp.csr_matrix(history)
    evidence = np.asarray(history.sum(axis=1)).ravel()
    content = content_similar.matrix() if content_similar is not None else None
    return _blend_rows(
        history=history,
        exclude=sp.csr_matrix(owned),
        cf_weight=_evidence_weight(evidence, weights),
        item_similar=item_similar.matrix(),
        content_similar=content,
        popularity=popularity,
        content_share=weights.content_share if content is not None else 0.0,
        n=n,
    )


def recommend_for_reader(
    owned_items: np.ndarray,
    item_similar: Neighbours,
    popularity: np.ndarray,
    content_similar: Neighbours | None = None,
    n: int = DEFAULT_N,
    weights: BlendWeights = BlendWeights(),
) -> tuple[np.ndarray, np.ndarray]:
    """One reader's top-n items given the item indices they own: (indices, scores), each (n,)."""
    owned_items = np.unique(np.asarray(owned_items, dtype=np.int64))
    owned = sp.csr_matrix(
        (np.ones(owned_items.size), (np.zeros(owned_items.size, dtype=np.int64), owned_items)),
        shape=(1, popularity.size),
    )
    indices, scores = recommend_for_readers(
        owned, owned, item_similar, popularity, content_similar, n, weights
    )
    return indices[0], scores[0]


def _evidence_weight(evidence: np.ndarray, weights: BlendWeights) -> np.ndarray:
    """evidence / (evidence + confidence): 0 without evidence, even for a confidence of 0."""
    total = evidence + weights.confidence
    return np.divide(evidence, total, out=np.zeros_like(evidence), where=total > 0)


def _scaled_rows(scores: np.ndarray) -> np.ndarray:
    """Each row divided by its maximum, so the best item of every row scores 1 (zero rows stay)."""
    peaks = scores.max(axis=1, keepdims=True)
    return scores / np.where(peaks > 0, peaks, 1.0)


def _blend_rows(
    *,
    history: sp.csr_matrix,
    exclude: sp.csr_matrix,
    cf_weight: np.ndarray,
    item_similar: sp.csr_matrix,
    content_similar: sp.csr_matrix | None,
    popularity: np.ndarray,
    content_share: float,
    n: int,
) -> tuple[np.ndarray, np.ndarray]:
    n_rows, n_items = history.shape
    indices = np.full((n_rows, n), PAD, dtype=np.int32)
    scores = np.zeros((n_rows, n), dtype=np.float32)
    peak = popularity.max() if popularity.size else 0.0
    popular = popularity / peak if peak > 0 else np.zeros(n_items)
    block = max(1, BLOCK_ENTRIES // max(n_items, 1))
    for start in range(0, n_rows, block):
        stop = min(start + block, n_rows)
        rows = history[start:stop]
        cf = cf_weight[start:stop, None]
        blended = cf * _scaled_rows((rows @ item_similar).toarray())
        rest = 1.0 - cf
        if content_similar is not None:
            blended += rest * content_share * _scaled_rows((rows @ content_similar).toarray())
        blended += rest * (1.0 - content_share) * popular
        owned_rows, owned_cols = exclude[start:stop].nonzero()
        blended[owned_rows, owned_cols] = 0.0  # top_k_rows keeps only positive scores
        indices[start:stop], scores[start:stop] = top_k_rows(blended, n)
    return indices, scores
