"""Recommendation engine speed: item-to-item fit against implicit, and the page lookup.

Run from the repository root:

    .venv/bin/python bench/recs_speed.py

It generates a seeded purchase matrix of 100,000 readers × 2,000 items with exactly 1,000,000
purchases: item popularity follows a Zipf law (exponent 0.9, over shuffled item ids) and reader
history lengths a log-normal law (σ = 1), so a few readers own hundreds of items and most own a
handful. Then:

- fit: app.recommendations.engine.similarity.item_neighbours (k = 20, 2 threads) against implicit's
  CosineRecommender (K = 20, 2 threads), best of 3 each, in the same process (the first of
  our 3 may include numba's compile, when its cache is cold);
- agreement: the share of items whose top-10 neighbours equal implicit's `similar_items`
  (implicit lists the item itself first; it is dropped), with the same scores, where a
  different item is allowed only if it ties the 10th score;
- lookup: 10,000 "读者也买了" lookups as a product page does them: the item's stored top-20 list
  (a dict of plain lists, as loaded from storage) filtered by the reader's owned items
  (a frozenset) with app.recommendations.engine.lists.pick_unowned, 6 shown; median and p99 in ms;
- for scale, the time to build "为你推荐" for all 100,000 readers (not a target).

The last line is machine-readable:

    RESULT fit_s=... implicit_fit_s=... ratio=... top10_agree=... lookup_ms=...

(lookup_ms is the p99). Targets: ratio ≤ 0.5, top10_agree = 1 (up to ties), lookup < 2 ms.
"""

from __future__ import annotations

import os

# No BLAS thread pool competing with implicit's 2 threads (implicit warns about it otherwise).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from implicit.nearest_neighbours import CosineRecommender  # noqa: E402
from implicit.utils import ParameterWarning  # noqa: E402

from app.recommendations.engine.blend import recommend_for_readers  # noqa: E402
from app.recommendations.engine.interactions import interaction_matrix  # noqa: E402
from app.recommendations.engine.lists import pick_unowned  # noqa: E402
from app.recommendations.engine.popularity import decayed_popularity  # noqa: E402
from app.recommendations.engine.similarity import item_neighbours  # noqa: E402

READERS, ITEMS, PURCHASES = 100_000, 2_000, 1_000_000
SEED = 20240606
K = 20
THREADS = 2
RUNS = 3
LOOKUPS = 10_000
STORED, SHOWN = 20, 6
TIE_TOLERANCE = 1e-5

# implicit converts its own normalised COO matrix to CSR inside fit() and warns about it.
warnings.filterwarnings("ignore", category=ParameterWarning)


def generate() -> tuple[sp.csr_matrix, np.ndarray]:
    """The seeded readers × items purchase matrix, and a purchase time for each purchase."""
    rng = np.random.default_rng(SEED)
    item_weight = 1.0 / np.arange(1, ITEMS + 1) ** 0.9
    item_weight = item_weight[rng.permutation(ITEMS)] / item_weight.sum()
    reader_weight = rng.lognormal(0.0, 1.0, READERS)
    reader_weight /= reader_weight.sum()
    keys = np.empty(0, dtype=np.int64)
    while keys.size < PURCHASES:  # draw (reader, item) pairs until enough distinct ones
        draws = int((PURCHASES - keys.size) * 1.3) + 1000
        readers = rng.choice(READERS, draws, p=reader_weight)
        items = rng.choice(ITEMS, draws, p=item_weight)
        keys = np.union1d(keys, readers * ITEMS + items)
    keys = np.sort(rng.choice(keys, PURCHASES, replace=False))
    readers, items = np.divmod(keys, ITEMS)
    matrix = interaction_matrix(READERS, ITEMS, (readers, items))
    bought_at = time.time() - rng.uniform(0, 365 * 86_400, PURCHASES)
    return matrix, bought_at


def best_of(runs: int, fit):
    best, result = float("inf"), None
    for _ in range(runs):
        started = time.perf_counter()
        result = fit()
        best = min(best, time.perf_counter() - started)
    return best, result


def fit_implicit(matrix: sp.csr_matrix) -> CosineRecommender:
    model = CosineRecommender(K=K, num_threads=THREADS)
    model.fit(matrix, show_progress=False)
    return model


def agrees(ours: tuple[np.ndarray, np.ndarray], theirs: tuple[np.ndarray, np.ndarray]) -> bool:
    """Same top-10 up to ties: the same scores in order, and any different item ties the 10th."""
    our_items, our_scores = ours
    their_items, their_scores = theirs
    if our_items.size != their_items.size:
        return False
    if not np.allclose(our_scores, their_scores, rtol=0, atol=TIE_TOLERANCE):
        return False
    differing = set(our_items.tolist()) ^ set(their_items.tolist())
    if not differing:
        return True
    boundary = our_scores[-1]
    score_of = dict(zip(our_items.tolist(), our_scores.tolist(), strict=True))
    score_of.update(zip(their_items.tolist(), their_scores.tolist(), strict=True))
    return all(abs(score_of[item] - boundary) <= TIE_TOLERANCE for item in differing)


def top10_agreement(neighbours, model: CosineRecommender) -> float:
    agreeing = 0
    for item in range(ITEMS):
        their_items, their_scores = model.similar_items(item, N=11)
        others = their_items != item
        theirs = (their_items[others][:10], their_scores[others][:10].astype(np.float64))
        keep = neighbours.indices[item, :10] >= 0
        ours = (neighbours.indices[item, :10][keep], neighbours.scores[item, :10][keep])
        agreeing += agrees((ours[0], ours[1].astype(np.float64)), theirs)
    return agreeing / ITEMS


def lookup_times_ms(neighbours, matrix: sp.csr_matrix) -> list[float]:
    rng = np.random.default_rng(SEED + 1)
    related = {item: row[:STORED] for item, row in enumerate(neighbours.indices.tolist())}
    readers = rng.integers(0, READERS, LOOKUPS).tolist()
    items = rng.integers(0, ITEMS, LOOKUPS).tolist()
    owned = {
        reader: frozenset(
            matrix.indices[matrix.indptr[reader] : matrix.indptr[reader + 1]].tolist()
        )
        for reader in set(readers)
    }
    times = []
    for reader, item in zip(readers, items, strict=True):
        started = time.perf_counter_ns()
        pick_unowned(related[item], owned[reader], SHOWN)
        times.append((time.perf_counter_ns() - started) / 1e6)
    return times


def main() -> None:
    started = time.perf_counter()
    matrix, bought_at = generate()
    lengths = np.diff(matrix.indptr)
    print(
        f"matrix: {READERS:,} readers × {ITEMS:,} items, {matrix.nnz:,} purchases; "
        f"history length median {np.median(lengths):.0f}, p99 {np.percentile(lengths, 99):.0f}, "
        f"max {lengths.max()}; generated in {time.perf_counter() - started:.1f} s"
    )

    fit_s, neighbours = best_of(RUNS, lambda: item_neighbours(matrix, k=K))
    implicit_fit_s, model = best_of(RUNS, lambda: fit_implicit(matrix))
    ratio = fit_s / implicit_fit_s
    agreement = top10_agreement(neighbours, model)

    times = lookup_times_ms(neighbours, matrix)
    lookup_median = statistics.median(times)
    lookup_p99 = float(np.percentile(times, 99))

    popularity = decayed_popularity(matrix.indices, bought_at, ITEMS, now=time.time())
    reader_build_s, _ = best_of(
        1, lambda: recommend_for_readers(matrix, matrix, neighbours, popularity, n=STORED)
    )

    print(f"{'':38s}{'ours':>12s}{'implicit':>12s}")
    print(f"{'item-to-item fit, best of 3 (s)':38s}{fit_s:12.3f}{implicit_fit_s:12.3f}")
    print(f"{'ratio (target ≤ 0.5)':38s}{ratio:12.3f}")
    print(f"{'top-10 neighbours agree (up to ties)':38s}{agreement:12.4f}")
    print(f"{'lookup median (ms)':38s}{lookup_median:12.4f}")
    print(f"{'lookup p99 (ms, target < 2)':38s}{lookup_p99:12.4f}")
    print(f"{'为你推荐 for all readers, top 20 (s)':38s}{reader_build_s:12.2f}")
    print(
        f"parameters: k={K}, implicit threads={THREADS}, seed={SEED}, lookups={LOOKUPS:,}, "
        f"stored={STORED}, shown={SHOWN}; total {time.perf_counter() - started:.1f} s"
    )
    print(
        f"RESULT fit_s={fit_s:.3f} implicit_fit_s={implicit_fit_s:.3f} ratio={ratio:.3f} "
        f"top10_agree={agreement:.4f} lookup_ms={lookup_p99:.4f}"
    )


if __name__ == "__main__":
    main()
