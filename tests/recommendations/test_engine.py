"""The recommendation engine (app/recs): the maths on matrices small enough to check by hand."""

import math

import numpy as np
import pytest
import scipy.sparse as sp

from app.recommendations.engine import evaluation, similarity
from app.recommendations.engine.blend import (
    BlendWeights,
    recommend_for_reader,
    recommend_for_readers,
    related_items,
)
from app.recommendations.engine.content import (
    chinese_segmenter,
    content_neighbours,
    item_terms,
    tfidf_matrix,
    tokenize,
)
from app.recommendations.engine.interactions import interaction_matrix
from app.recommendations.engine.lists import pick_unowned
from app.recommendations.engine.popularity import decayed_popularity
from app.recommendations.engine.similarity import Neighbours, item_neighbours
from app.recommendations.engine.topk import top_k_rows

# Readers × items. Item columns: a = (1, 1, 0), b = (1, 0, 1), c = (0, 1, 0).
# cos(a, b) = 1 / (√2 √2) = 0.5, cos(a, c) = 1 / √2, cos(b, c) = 0.
BOUGHT = sp.csr_matrix(np.array([[1, 1, 0], [1, 0, 1], [0, 1, 0]], dtype=float))
A, B, C = 0, 1, 2


@pytest.fixture(scope="module")
def jieba_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("jieba")


def test_item_cosines_are_exact():
    neighbours = item_neighbours(BOUGHT, k=2)
    assert neighbours.indices.tolist() == [[C, B], [A, -1], [A, -1]]
    np.testing.assert_allclose(
        neighbours.scores, [[1 / math.sqrt(2), 0.5], [0.5, 0.0], [1 / math.sqrt(2), 0.0]], rtol=1e-6
    )


def test_cosine_divides_by_the_norms_once():
    # Dividing by the norms twice would give cos(a, b) = 0.25 and cos(a, c) = 0.5; scaling an
    # item's column (a heavier signal) must not change its cosines at all.
    scaled = BOUGHT.multiply(np.array([[3.0, 1.0, 1.0]])).tocsr()
    assert item_neighbours(scaled, k=2).scores[A].tolist() == pytest.approx([1 / math.sqrt(2), 0.5])
    identical = sp.csr_matrix(np.array([[2.0, 2.0], [1.0, 1.0]]))
    np.testing.assert_allclose(item_neighbours(identical, k=1).scores, [[1.0], [1.0]], rtol=1e-6)


def test_views_are_a_weaker_signal_and_a_purchase_wins():
    matrix = interaction_matrix(
        2, 3, purchases=([0, 0, 0], [0, 0, 1]), views=([0, 1, 1], [0, 2, 2]), view_weight=0.2
    )
    assert matrix.toarray().tolist() == [[1.0, 1.0, 0.0], [0.0, 0.0, 0.2]]
    # Reader 0 bought a and b; reader 1 only viewed c and b: cos(b, c) = 0.2·x / (|b| |c|).
    viewed = interaction_matrix(2, 3, purchases=([0, 0], [0, 1]), views=([1, 1], [1, 2]))
    b_norm = math.sqrt(1 + 0.2**2)
    assert item_neighbours(viewed, k=2).scores[C].tolist() == pytest.approx(
        [0.2 * 0.2 / (b_norm * 0.2), 0]
    )


def _dense_cosines(matrix: sp.spmatrix) -> np.ndarray:
    """The textbook item × item cosines in float64, for checking the fast kernel against."""
    dense = sp.csr_matrix(matrix).toarray()
    norms = np.linalg.norm(dense, axis=0)
    norms[norms == 0] = 1.0
    cosines = (dense.T @ dense) / np.outer(norms, norms)
    np.fill_diagonal(cosines, 0.0)
    return cosines


def _assert_true_neighbours(neighbours: Neighbours, cosines: np.ndarray) -> None:
    """Each row lists the k best positive cosines, with the right items, up to exact ties."""
    k = neighbours.indices.shape[1]
    for item, row in enumerate(cosines):
        expected = np.sort(row[row > 0])[::-1][:k]
        listed = neighbours.indices[item][neighbours.indices[item] >= 0]
        np.testing.assert_allclose(neighbours.scores[item][: expected.size], expected, atol=1e-6)
        assert listed.size == expected.size and len(set(listed.tolist())) == listed.size
        assert item not in listed
        np.testing.assert_allclose(row[listed], neighbours.scores[item][: listed.size], atol=1e-6)


def _weighted_readers(seed: int, readers: int = 300, items: int = 60) -> sp.csr_matrix:
    """Purchases (1.0) and views (0.2), given with repeats and some empty item columns."""
    rng = np.random.default_rng(seed)
    events = 3000
    reader = rng.integers(0, readers, events)
    item = rng.zipf(1.3, events) % (items - 5)  # the last five items are never touched
    weight = np.where(rng.random(events) < 0.7, 1.0, 0.2)
    return sp.coo_matrix((weight, (reader, item)), shape=(readers, items)).tocsr()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fast_cosines_equal_the_textbook_ones(seed):
    matrix = _weighted_readers(seed)
    _assert_true_neighbours(item_neighbours(matrix, k=8), _dense_cosines(matrix))


def test_large_catalogs_go_by_bands_with_the_same_result(monkeypatch):
    matrix = _weighted_readers(4)
    square = item_neighbours(matrix, k=8)
    monkeypatch.setattr(similarity, "DENSE_ITEMS", 10)
    monkeypatch.setattr(similarity, "BLOCK_ENTRIES", 7 * matrix.shape[1])  # bands of 7 rows
    banded = item_neighbours(matrix, k=8)
    _assert_true_neighbours(banded, _dense_cosines(matrix))
    np.testing.assert_array_equal(banded.indices, square.indices)
    np.testing.assert_allclose(banded.scores, square.scores, rtol=1e-6)


def test_purchase_counts_are_exact_however_popular_the_item():
    # 30,000 readers bought items 0 and 1, 10,000 of them item 2 too: adding 30,000 divided
    # weights in float32 would drift; whole counts do not.
    matrix = sp.csr_matrix(np.repeat([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0]], [20_000, 10_000], axis=0))
    scores = item_neighbours(matrix, k=2).scores
    assert scores[0].tolist() == [1.0, np.float32(10_000 / math.sqrt(30_000 * 10_000))]


def test_top_k_orders_by_score_then_lower_index():
    scores = np.array([[0.5, 0.9, 0.5, 0.5, 0.0, 0.1], [0.3, 0.3, 0.3, 0.3, 0.3, 0.3]])
    indices, best = top_k_rows(scores, 3)
    assert indices.tolist() == [[1, 0, 2], [0, 1, 2]]
    np.testing.assert_allclose(best, [[0.9, 0.5, 0.5], [0.3, 0.3, 0.3]], rtol=1e-6)


def test_top_k_pads_short_rows_and_drops_non_positive_scores():
    indices, best = top_k_rows(np.array([[0.0, 0.2], [-1.0, 0.0]]), 3)
    assert indices.tolist() == [[1, -1, -1], [-1, -1, -1]]
    np.testing.assert_allclose(best, [[0.2, 0, 0], [0, 0, 0]], rtol=1e-6)


def test_empty_inputs():
    assert top_k_rows(np.zeros((0, 4)), 2)[0].shape == (0, 2)
    assert top_k_rows(np.zeros((2, 0)), 2)[0].tolist() == [[-1, -1], [-1, -1]]
    no_items = item_neighbours(sp.csr_matrix((5, 0)), k=3)
    assert no_items.indices.shape == (0, 3)
    no_readers = item_neighbours(sp.csr_matrix((0, 4)), k=3)
    assert (no_readers.indices == -1).all()
    assert tfidf_matrix([]).shape == (0, 0)
    assert content_neighbours([[], []], k=2).indices.tolist() == [[-1, -1], [-1, -1]]
    empty = interaction_matrix(0, 3, purchases=([], []))
    indices, _ = recommend_for_readers(empty, empty, item_neighbours(empty), np.zeros(3))
    assert indices.shape == (0, 10)


def test_tokens_of_chinese_and_english(jieba_cache, capfd):
    assert tokenize("Toy Story (1995)") == ["toy", "story", "1995"]
    words = tokenize("Python入门：数据分析的实战课程", cache_dir=jieba_cache)
    assert {"python", "入门", "数据分析", "实战", "课程"} <= set(words)
    assert "的" not in words and "：" not in words
    assert (jieba_cache / "jieba.cache").is_file()
    captured = capfd.readouterr()
    assert captured.out == "" and captured.err == ""


def test_segmenter_is_built_once_per_cache_dir(jieba_cache):
    assert chinese_segmenter(jieba_cache) is chinese_segmenter(jieba_cache)


def test_tfidf_weights_and_cosine():
    matrix = tfidf_matrix([["a", "b"], ["a"]]).toarray()
    rare = 1 + math.log(3 / 2)  # idf of "b": 1 + log((1 + 2) / (1 + 1)); "a" is in both: 1
    np.testing.assert_allclose(matrix[0], np.array([1, rare]) / math.hypot(1, rare))
    np.testing.assert_allclose(matrix[1], [1, 0])
    neighbours = content_neighbours([["a", "b"], ["a"]], k=1)
    assert neighbours.scores[:, 0].tolist() == pytest.approx([1 / math.hypot(1, rare)] * 2)


def test_content_neighbours_of_chinese_items(jieba_cache):
    documents = [
        item_terms("Python数据分析入门", "用Python做数据分析", ["编程"], cache_dir=jieba_cache),
        item_terms("Python数据分析进阶", "数据分析的实战", ["编程"], cache_dir=jieba_cache),
        item_terms("家常菜谱", "十道快手菜", ["美食"], cache_dir=jieba_cache),
    ]
    assert documents[0][:2] == ["编程", "编程"]  # the tag, whole and counted twice
    neighbours = content_neighbours(documents, k=2)
    assert neighbours.indices[0].tolist() == [1, -1]
    assert neighbours.indices[2].tolist() == [-1, -1]


def test_popularity_halves_every_half_life():
    day = 86_400.0
    now = 100 * day
    popularity = decayed_popularity(
        items=np.array([0, 1, 1, 2]),
        timestamps=np.array([now, now - 30 * day, now - 60 * day, now + day]),
        n_items=4,
        now=now,
        half_life_days=30.0,
    )
    assert popularity.tolist() == pytest.approx([1.0, 0.5 + 0.25, 1.0, 0.0])
    all_time = decayed_popularity(np.array([1, 1]), np.array([0.0, now]), 3, now, math.inf)
    assert all_time.tolist() == [0.0, 2.0, 0.0]


def _neighbours(rows: list[list[tuple[int, float]]], k: int = 2) -> Neighbours:
    indices = np.full((len(rows), k), -1, dtype=np.int32)
    scores = np.zeros((len(rows), k), dtype=np.float32)
    for item, row in enumerate(rows):
        for rank, (other, score) in enumerate(row):
            indices[item, rank], scores[item, rank] = other, score
    return Neighbours(indices, scores)


# Five items: 0 and 1 are bought together; 2 and 3 read alike; 4 is the best seller.
CO_BOUGHT = _neighbours([[(1, 0.9)], [(0, 0.9)], [], [], []])
ALIKE = _neighbours([[], [], [(3, 0.8)], [(2, 0.8)], []])
POPULARITY = np.array([3.0, 2.0, 1.0, 0.5, 10.0])


def test_cold_reader_gets_the_best_sellers():
    indices, scores = recommend_for_reader(np.array([], dtype=int), CO_BOUGHT, POPULARITY, n=3)
    assert indices.tolist() == [4, 0, 1]
    assert scores[0] > scores[1] > scores[2] > 0


def test_reader_history_brings_neighbours_forward_and_owned_items_never_return():
    weights = BlendWeights(confidence=1.0, content_share=0.5)
    indices, _ = recommend_for_reader(np.array([0, 2]), CO_BOUGHT, POPULARITY, ALIKE, 5, weights)
    assert indices.tolist()[:2] == [1, 3]
    assert 0 not in indices and 2 not in indices
    assert indices.tolist()[-1] == -1  # five items, two owned: three to recommend


def test_owned_items_are_never_recommended_in_a_batch():
    rng = np.random.default_rng(3)
    bought = sp.random(40, 30, density=0.2, format="csr", random_state=rng)
    bought.data[:] = 1.0
    owned = sp.random(40, 30, density=0.2, format="csr", random_state=rng) + bought
    neighbours = item_neighbours(bought, k=5)
    indices, _ = recommend_for_readers(bought, owned, neighbours, bought.sum(axis=0).A1, n=30)
    for reader in range(40):
        recommended = set(indices[reader][indices[reader] >= 0].tolist())
        assert recommended.isdisjoint(owned[reader].indices.tolist())
        assert len(recommended) == 30 - owned[reader].nnz


def test_related_items_lean_on_content_for_a_new_item_and_on_purchases_later():
    weights = BlendWeights(confidence=5.0, content_share=0.9)
    new_item = related_items(CO_BOUGHT, ALIKE, POPULARITY, np.zeros(5), n=2, weights=weights)
    assert new_item[0][2].tolist() == [3, 4]  # its look-alike, then the best seller
    best_seller = related_items(
        CO_BOUGHT, ALIKE, POPULARITY, np.full(5, 1000), n=2, weights=weights
    )
    assert best_seller[0][0].tolist() == [1, 4]  # bought together first
    assert all(item not in row for item, row in enumerate(best_seller[0].tolist()))


def test_pick_unowned_keeps_order_and_stops_at_the_padding():
    assert pick_unowned([5, 3, 9, 1, -1, -1], {3, 1}, 2) == [5, 9]
    assert pick_unowned([5, 3, -1, 7], {5}, 6) == [3]
    assert pick_unowned([], set(), 3) == []


def test_leave_last_out_and_figures():
    readers = np.array([0, 0, 0, 1, 2, 2])
    items = np.array([1, 2, 3, 1, 4, 5])
    times = np.array([10, 30, 20, 10, 5, 5])  # reader 2's tie goes to the larger item index
    train, held_out = evaluation.leave_last_out(readers, items, times, 3)
    assert train.tolist() == [True, False, True, True, True, False]
    assert held_out.tolist() == [2, evaluation.NOT_EVALUATED, 5]
    recommended = np.array([[7, 2, 8], [5, 6, -1]])
    truth = np.array([2, 9])
    assert evaluation.hit_rate(recommended, truth) == 0.5
    assert evaluation.ndcg(recommended, truth) == pytest.approx((1 / math.log2(3)) / 2)
    assert evaluation.catalog_coverage(recommended, 10) == 0.5


def test_co_purchase_pairs_support_confidence_lift():
    import scipy.sparse as sp

    from app.recommendations.engine.association import co_purchase_pairs

    # 4 readers; items 0 and 1 bought together by readers 0 and 1; item 2 by everyone.
    owned = sp.csr_matrix(np.array([[1, 1, 1], [1, 1, 1], [1, 0, 1], [0, 0, 1]], dtype=float))
    pairs = co_purchase_pairs(owned, top=5)
    assert [(p.a, p.b, p.readers) for p in pairs] == [(0, 2, 3), (1, 0, 2), (1, 2, 2)]
    first = pairs[0]  # 3 of item 0's 3 buyers bought item 2, which everyone bought: no lift
    assert first.support == pytest.approx(0.75)
    assert first.confidence == pytest.approx(1.0) and first.lift == pytest.approx(1.0)
    together = pairs[1]  # both of item 1's buyers bought item 0 (3 of 4 readers have it)
    assert together.confidence == pytest.approx(1.0)
    assert together.lift == pytest.approx(1.0 / 0.75)
    assert co_purchase_pairs(owned, min_readers=4) == []
    assert co_purchase_pairs(sp.csr_matrix((0, 3))) == []
