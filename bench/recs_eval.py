"""Offline evaluation of the recommenders on MovieLens ml-latest-small.

Run from the repository root:

    .venv/bin/python bench/recs_eval.py [--data DIR]

Data: MovieLens ml-latest-small (610 readers, 9,742 movies; see its README.txt), which is not in
the repository: GroupLens publishes it at
https://files.grouplens.org/datasets/movielens/ml-latest-small.zip. Unzip it into bench/data/
(ignored by git), which gives bench/data/ml-latest-small/, or pass its folder with --data.
Without it the benchmark stops at once and says where to get it. A
rating of 4 or more counts as a purchase. Each reader's last purchase by time is held out
(engine.evaluation.leave_last_out); readers with fewer than two purchases are not evaluated.
Every method sees the same training purchases and never recommends a reader's training items.

Methods, each scoring 10 items per reader (engine = app.recommendations.engine):
- popularity: time-decayed purchase counts up to the last training purchase;
- item-to-item: the sum of a reader's items' cosine neighbours (engine.similarity);
- content: the same with TF-IDF neighbours over genres and title words (engine.content);
- blend: engine.blend.recommend_for_readers (item-to-item, content and popularity);
- implicit: implicit's CosineRecommender on the same training matrix, as an outside reference.

The parameters (neighbourhood size, half-life, blend weights) are chosen on a validation split
carved out of the training data the same way (each reader's last *training* purchase), never
on the held-out test items, and printed. Figures: HR@10, NDCG@10 and catalog coverage (share of
all movies recommended to anyone). The last line is machine-readable:

    RESULT hr10_pop=... hr10_item=... hr10_content=... hr10_blend=... hr10_implicit=...
    ndcg10_blend=...   (on one line)

Targets: item-to-item HR@10 ≥ implicit's; blend HR@10 ≥ 1.3 × popularity's.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import itertools
import math
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from implicit.nearest_neighbours import CosineRecommender  # noqa: E402
from implicit.utils import ParameterWarning  # noqa: E402

from app.recommendations.engine import evaluation  # noqa: E402
from app.recommendations.engine.blend import BlendWeights, recommend_for_readers  # noqa: E402
from app.recommendations.engine.content import content_neighbours, item_terms  # noqa: E402
from app.recommendations.engine.interactions import interaction_matrix  # noqa: E402
from app.recommendations.engine.popularity import decayed_popularity  # noqa: E402
from app.recommendations.engine.similarity import Neighbours, item_neighbours  # noqa: E402

DATA_URL = "https://files.grouplens.org/datasets/movielens/ml-latest-small.zip"
DEFAULT_DATA = REPO / "bench" / "data" / "ml-latest-small"
DATA_FILES = ("movies.csv", "ratings.csv")
PURCHASE_RATING = 4.0
N = 10
THREADS = 2
IMPLICIT_K = 20
# Candidates tried on the validation split.
NEIGHBOURHOODS = (20, 50, 100, 200)
HALF_LIVES_DAYS = (30.0, 365.0, math.inf)
CONFIDENCES = (1.0, 5.0, 20.0)
CONTENT_SHARES = (0.0, 0.3, 0.6)
CONTENT_K = 50
# A confidence of 0 gives collaborative filtering all the weight: the neighbours alone.
ONLY_NEIGHBOURS = BlendWeights(confidence=0.0, content_share=0.0)

warnings.filterwarnings("ignore", category=ParameterWarning)


@dataclass(frozen=True)
class Purchases:
    readers: np.ndarray
    items: np.ndarray
    times: np.ndarray
    n_readers: int
    n_items: int

    def subset(self, mask: np.ndarray) -> Purchases:
        return Purchases(
            self.readers[mask], self.items[mask], self.times[mask], self.n_readers, self.n_items
        )

    def matrix(self) -> sp.csr_matrix:
        return interaction_matrix(self.n_readers, self.n_items, (self.readers, self.items))


def missing_data(data: Path) -> str | None:
    """What to tell the user when the data set is not at `data`; None when it is there."""
    missing = [name for name in DATA_FILES if not (data / name).is_file()]
    if not missing:
        return None
    return (
        f"MovieLens ml-latest-small is missing: no {', '.join(missing)} in {data}.\n"
        f"Download {DATA_URL} and unzip it into {DEFAULT_DATA.parent}"
        " (or pass the unzipped folder with --data DIR)."
    )


def load(data: Path) -> tuple[Purchases, list[list[str]]]:
    movies = pd.read_csv(data / "movies.csv")
    ratings = pd.read_csv(data / "ratings.csv")
    liked = ratings[ratings["rating"] >= PURCHASE_RATING]
    item_of = pd.Series(np.arange(len(movies)), index=movies["movieId"])
    reader_ids, readers = np.unique(liked["userId"].to_numpy(), return_inverse=True)
    purchases = Purchases(
        readers=readers,
        items=item_of[liked["movieId"]].to_numpy(),
        times=liked["timestamp"].to_numpy(dtype=np.float64),
        n_readers=reader_ids.size,
        n_items=len(movies),
    )
    documents = [
        item_terms(title, tags=[] if genres == "(no genres listed)" else genres.split("|"))
        for title, genres in zip(movies["title"], movies["genres"], strict=True)
    ]
    return purchases, documents


def split(purchases: Purchases) -> tuple[Purchases, np.ndarray]:
    train, held_out = evaluation.leave_last_out(
        purchases.readers, purchases.items, purchases.times, purchases.n_readers
    )
    return purchases.subset(train), held_out


class Models:
    """Everything fitted on one training set, with the lists each method gives the evaluated."""

    def __init__(self, train: Purchases, content: Neighbours, held_out: np.ndarray):
        self.train = train
        self.history = train.matrix()
        self.readers = np.flatnonzero(held_out != evaluation.NOT_EVALUATED)
        self.held_out = held_out[self.readers]
        self.now = float(train.times.max())
        self.content = content
        self._neighbours: dict[int, Neighbours] = {}
        self._popularity: dict[float, np.ndarray] = {}

    def neighbours(self, k: int) -> Neighbours:
        if k not in self._neighbours:
            self._neighbours[k] = item_neighbours(self.history, k=k)
        return self._neighbours[k]

    def popularity(self, half_life_days: float) -> np.ndarray:
        if half_life_days not in self._popularity:
            self._popularity[half_life_days] = decayed_popularity(
                self.train.items, self.train.times, self.train.n_items, self.now, half_life_days
            )
        return self._popularity[half_life_days]

    def recommend(
        self,
        similar: Neighbours,
        popularity: np.ndarray,
        content: Neighbours | None,
        weights: BlendWeights,
    ) -> np.ndarray:
        """Top-N of the blend for the evaluated readers, their training items excluded."""
        history = self.history[self.readers]
        indices, _ = recommend_for_readers(
            history, history, similar, popularity, content, n=N, weights=weights
        )
        return indices

    def popular(self, half_life_days: float) -> np.ndarray:
        # An infinite confidence gives collaborative filtering no weight: popularity alone.
        only_popularity = BlendWeights(confidence=math.inf, content_share=0.0)
        return self.recommend(
            self.neighbours(IMPLICIT_K), self.popularity(half_life_days), None, only_popularity
        )

    def item_to_item(self, k: int) -> np.ndarray:
        return self.recommend(self.neighbours(k), self.popularity(math.inf), None, ONLY_NEIGHBOURS)

    def content_based(self) -> np.ndarray:
        return self.recommend(self.content, self.popularity(math.inf), None, ONLY_NEIGHBOURS)

    def blend(self, k: int, half_life_days: float, weights: BlendWeights) -> np.ndarray:
        return self.recommend(
            self.neighbours(k), self.popularity(half_life_days), self.content, weights
        )

    def implicit(self, k: int) -> np.ndarray:
        model = CosineRecommender(K=k, num_threads=THREADS)
        model.fit(self.history, show_progress=False)
        ids, _ = model.recommend(
            self.readers, self.history[self.readers], N=N, filter_already_liked_items=True
        )
        return ids

    def figures(self, recommended: np.ndarray) -> tuple[float, float, float]:
        return (
            evaluation.hit_rate(recommended, self.held_out),
            evaluation.ndcg(recommended, self.held_out),
            evaluation.catalog_coverage(recommended, self.train.n_items),
        )


def tune(models: Models) -> tuple[int, float, BlendWeights, list[str]]:
    """The parameters with the best validation HR@10 (NDCG@10 breaks ties)."""
    log = []

    def score(recommended: np.ndarray) -> tuple[float, float]:
        hr, ndcg, _ = models.figures(recommended)
        return hr, ndcg

    k_scores = {k: score(models.item_to_item(k)) for k in NEIGHBOURHOODS}
    best_k = max(NEIGHBOURHOODS, key=lambda k: k_scores[k])
    log.append("item-to-item k: " + _list(k_scores))
    life_scores = {h: score(models.popular(h)) for h in HALF_LIVES_DAYS}
    best_life = max(HALF_LIVES_DAYS, key=lambda h: life_scores[h])
    log.append("popularity half-life (days): " + _list(life_scores))
    blend_scores = {
        (c, s): score(models.blend(best_k, best_life, BlendWeights(c, s)))
        for c, s in itertools.product(CONFIDENCES, CONTENT_SHARES)
    }
    best_c, best_s = max(blend_scores, key=lambda cs: blend_scores[cs])
    log.append("blend (confidence, content share): " + _list(blend_scores))
    return best_k, best_life, BlendWeights(best_c, best_s), log


def _list(scores: dict) -> str:
    return ", ".join(f"{key}: HR {hr:.4f}" for key, (hr, _) in scores.items())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help="the unzipped ml-latest-small folder"
    )
    data = parser.parse_args(argv).data
    problem = missing_data(data)
    if problem:
        raise SystemExit(problem)  # printed to stderr, exit status 1
    started = time.perf_counter()
    purchases, documents = load(data)
    train, held_out = split(purchases)
    validation_train, validation_held_out = split(train)
    print(
        f"ml-latest-small: {purchases.n_readers} readers, {purchases.n_items:,} movies, "
        f"{purchases.readers.size:,} purchases (rating ≥ {PURCHASE_RATING:g}); "
        f"{np.count_nonzero(held_out >= 0)} readers evaluated"
    )

    content = content_neighbours(documents, k=CONTENT_K)
    k, half_life, weights, log = tune(Models(validation_train, content, validation_held_out))
    print("validation split (each reader's last training purchase):")
    for line in log:
        print("  " + line)
    print(
        f"chosen: k={k}, half-life={half_life:g} days, confidence={weights.confidence:g}, "
        f"content share={weights.content_share:g}; content k={CONTENT_K}; implicit K={IMPLICIT_K}"
    )

    models = Models(train, content, held_out)
    rows = {
        "popularity": models.popular(half_life),
        "item-to-item": models.item_to_item(k),
        "content": models.content_based(),
        "blend": models.blend(k, half_life, weights),
        f"implicit Cosine K={IMPLICIT_K}": models.implicit(IMPLICIT_K),
    }
    # implicit's K counts the item itself (its own best neighbour), so its K=20 keeps 19 others:
    # our k=19 is the like-for-like check, and should match it up to ties.
    rows[f"item-to-item k={IMPLICIT_K - 1}"] = models.item_to_item(IMPLICIT_K - 1)
    figures = {name: models.figures(recommended) for name, recommended in rows.items()}
    print(f"\ntest (each reader's last purchase), N={N}")
    print(f"{'method':26s}{'HR@10':>9s}{'NDCG@10':>9s}{'coverage':>10s}")
    for name, (hr, ndcg, coverage) in figures.items():
        print(f"{name:26s}{hr:9.4f}{ndcg:9.4f}{coverage:10.4f}")
    pop, item, content, blend = (
        figures[m][0] for m in ("popularity", "item-to-item", "content", "blend")
    )
    implicit = figures[f"implicit Cosine K={IMPLICIT_K}"][0]
    print(
        f"item-to-item / implicit: {item / implicit:.3f} (target ≥ 1); "
        f"blend / popularity: {blend / pop:.3f} (target ≥ 1.3); "
        f"{time.perf_counter() - started:.1f} s"
    )
    print(
        f"RESULT hr10_pop={pop:.4f} hr10_item={item:.4f} hr10_content={content:.4f} "
        f"hr10_blend={blend:.4f} hr10_implicit={implicit:.4f} "
        f"ndcg10_blend={figures['blend'][1]:.4f}"
    )


if __name__ == "__main__":
    main()
