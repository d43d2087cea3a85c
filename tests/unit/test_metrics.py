"""Metric functions on hand-computed examples, and a cross-check against implicit's own code."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from shopflow.recommend import evaluation as ev

# Three users, K = 3, a catalogue of 12 items.
#   u0 recommended [5, 1, 7], held out {1, 7, 9, 11} -> hits [0, 1, 1], n = 4
#   u1 recommended [2, 3, 4], held out {2}           -> hits [1, 0, 0], n = 1
#   u2 recommended [8, 6, 0], held out {4}           -> hits [0, 0, 0], n = 1
RECOMMENDED = np.array([[5, 1, 7], [2, 3, 4], [8, 6, 0]])
RELEVANT = sp.csr_matrix(
    (np.ones(6), ([0, 0, 0, 0, 1, 2], [1, 7, 9, 11, 2, 4])), shape=(3, 12)
)
HITS = np.array([[0, 1, 1], [1, 0, 0], [0, 0, 0]], dtype=bool)
N_RELEVANT = np.array([4, 1, 1])


def test_hits_matrix_marks_held_out_items():
    np.testing.assert_array_equal(ev.hits_matrix(RECOMMENDED, RELEVANT), HITS)


def test_hits_matrix_ignores_padding():
    padded = np.array([[1, -1, -1]])
    relevant = sp.csr_matrix(([1.0], ([0], [1])), shape=(1, 3))
    np.testing.assert_array_equal(ev.hits_matrix(padded, relevant), [[True, False, False]])


def test_precision_implicit_definition():
    # (2 + 1 + 0) / (min(3, 4) + min(3, 1) + min(3, 1)) = 3 / 5
    assert ev.precision_at_k(HITS, N_RELEVANT) == pytest.approx(0.6)


def test_precision_strict():
    # mean(2/3, 1/3, 0/3) = 1/3
    assert ev.precision_at_k_strict(HITS, N_RELEVANT) == pytest.approx(1 / 3)


def test_recall():
    # mean(2/4, 1/1, 0/1) = 0.5
    assert ev.recall_at_k(HITS, N_RELEVANT) == pytest.approx(0.5)


def test_map():
    # u0: hits at ranks 2 and 3 -> (1/2 + 2/3) / min(3, 4) = 7/18; u1: (1/1) / 1 = 1; u2: 0
    # mean = (7/18 + 1 + 0) / 3 = 25/54
    assert ev.map_at_k(HITS, N_RELEVANT) == pytest.approx(25 / 54)


def test_ndcg():
    # u0: DCG = 1/log2(3) + 1/log2(4) = 0.6309298 + 0.5 = 1.1309298
    #     IDCG (min(3, 4) = 3 relevant) = 1 + 0.6309298 + 0.5 = 2.1309298 -> 0.5307213
    # u1: DCG = 1, IDCG = 1 -> 1;  u2: 0.   mean = 1.5307213 / 3 = 0.5102404
    assert ev.ndcg_at_k(HITS, N_RELEVANT) == pytest.approx(0.5102404, abs=1e-7)


def test_coverage():
    # distinct recommended {0, 1, 2, 3, 4, 5, 6, 7, 8} = 9 of 12 items
    assert ev.coverage(RECOMMENDED, 12) == pytest.approx(0.75)
    assert ev.coverage(np.array([[3, -1], [3, -1]]), 4) == pytest.approx(0.25)


def test_ranking_metrics_names_and_values():
    out = ev.ranking_metrics(RECOMMENDED, RELEVANT, n_items=12)
    assert out == pytest.approx({
        "users_evaluated": 3,
        "precision_at_3": 0.6,
        "precision_at_3_strict": 1 / 3,
        "recall_at_3": 0.5,
        "map_at_3": 25 / 54,
        "ndcg_at_3": 0.5102404,
        "coverage": 0.75,
    }, abs=1e-7)


def test_ranking_metrics_skip_users_without_held_out_items():
    relevant = sp.vstack([RELEVANT, sp.csr_matrix((1, 12))]).tocsr()
    out = ev.ranking_metrics(np.vstack([RECOMMENDED, [[9, 10, 11]]]), relevant, n_items=12)
    assert out["users_evaluated"] == 3
    assert out["precision_at_3"] == pytest.approx(0.6)
    # the skipped user's items 9, 10, 11 do not count towards coverage
    assert out["coverage"] == pytest.approx(0.75)


def test_metrics_reject_users_without_held_out_items():
    with pytest.raises(ValueError, match="at least one held-out item"):
        ev.precision_at_k(HITS, np.array([4, 1, 0]))


def test_perfect_and_empty_rankings_hit_the_bounds():
    perfect = np.array([[1, 1, 1]], dtype=bool)
    assert ev.ndcg_at_k(perfect, [5]) == pytest.approx(1.0)
    assert ev.map_at_k(perfect, [5]) == pytest.approx(1.0)
    assert ev.precision_at_k(perfect, [5]) == pytest.approx(1.0)
    assert ev.recall_at_k(perfect, [5]) == pytest.approx(0.6)
    none = np.zeros((1, 3), dtype=bool)
    assert ev.ndcg_at_k(none, [2]) == 0.0


def test_neighbour_recall_counts_ties_as_correct():
    # exact top-2 similarities of query 0: [0.9, 0.8]; the index returned items with true
    # similarities [0.9, 0.8] -> 2/2. Query 1: exact [0.5, 0.5], returned [0.5, 0.4] -> 1/2
    # (the 0.5 is a tie, any of the tied items is right). Total 3/4.
    approx = np.array([[0.9, 0.8], [0.5, 0.4]])
    exact = np.array([[0.9, 0.8], [0.5, 0.5]])
    assert ev.neighbour_recall(approx, exact) == pytest.approx(0.75)


def test_next_item_hit_rate_weights_transitions():
    neighbours = np.array([[1, 2], [0, 2], [0, 1]])
    # 0->1 hit (x3), 1->0 hit (x1), 2->2 miss (x1, 2 is not its own neighbour): 4 / 5
    assert ev.next_item_hit_rate(neighbours, [0, 1, 2], [1, 0, 2], [3, 1, 1]) == pytest.approx(0.8)
    assert math.isnan(ev.next_item_hit_rate(neighbours, [], []))


def test_category_popularity_neighbours():
    # items 0..4; categories a a a b b; popularity 5 9 9 1 0
    # item 0 (a): others of a by popularity, ties by index -> [1, 2]
    # item 1 (a): [2, 0];  item 2 (a): [1, 0];  item 3 (b): [4, -1];  item 4 (b): [3, -1]
    out = ev.category_popularity_neighbours(np.array(list("aaabb")), np.array([5, 9, 9, 1, 0]), k=2)
    np.testing.assert_array_equal(out, [[1, 2], [2, 0], [1, 0], [4, -1], [3, -1]])


def test_evaluation_matches_implicit_ranking_metrics():
    """Our protocol + metrics give the numbers of implicit's own ranking_metrics_at_k."""
    from implicit.evaluation import ranking_metrics_at_k
    from test_recommend_planted import planted_events

    from shopflow.recommend.als import ALSRecommender
    from shopflow.recommend.data import build_interactions

    split = ev.random_split(build_interactions(planted_events()), 0.2, seed=1)
    model = ALSRecommender({"factors": 8, "iterations": 10, "alpha": 10}, num_threads=1).fit(split.train.matrix)
    ours = ev.evaluate(model, split, k=15)
    theirs = ranking_metrics_at_k(model._model, split.train.matrix, split.test, K=15, show_progress=False)
    assert ours["precision_at_15"] == pytest.approx(theirs["precision"], abs=1e-9)
    assert ours["map_at_15"] == pytest.approx(theirs["map"], abs=1e-9)
    assert ours["ndcg_at_15"] == pytest.approx(theirs["ndcg"], abs=1e-9)
