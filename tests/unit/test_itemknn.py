"""The item-kNN baseline (recommend/itemknn.py): hand-computed similarities and lists, the planted
blocks, and its metrics beside popularity's in one evaluation."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
import scipy.sparse as sp
from test_recommend_planted import item_block, planted_events, user_block

from shopflow.recommend.als import ALSRecommender
from shopflow.recommend.data import build_interactions
from shopflow.recommend.evaluation import evaluate_with_baseline, temporal_split
from shopflow.recommend.itemknn import ItemKNNRecommender

# users x items. Item columns: 0 = (1, 1, 0, 0), 1 = (1, 1, 1, 0), 2 = (0, 0, 1, 0), 3 = (0, 0, 0, 1).
HAND = sp.csr_matrix(np.array([
    [1, 1, 0, 0],
    [1, 1, 0, 0],
    [0, 1, 1, 0],
    [0, 0, 0, 1],
], dtype=np.float32))
COS_01 = 2 / (math.sqrt(2) * math.sqrt(3))  # 0.8165
COS_12 = 1 / math.sqrt(3)                   # 0.5774; items 0-2 and anything-3 share no user


def test_cosine_similarities_by_hand():
    model = ItemKNNRecommender(neighbours=10).fit(HAND)
    expected = np.array([
        [0, COS_01, 0, 0],
        [COS_01, 0, COS_12, 0],
        [0, COS_12, 0, 0],
        [0, 0, 0, 0],
    ])
    np.testing.assert_allclose(model.similarity.toarray(), expected, rtol=1e-6)


def test_recommendations_by_hand_with_filter_and_padding():
    model = ItemKNNRecommender(neighbours=10).fit(HAND)
    ids, scores = model.recommend([0, 2, 3], 3, filter_csr=HAND[[0, 2, 3]])
    # user 0 (items 0, 1): item 2 scores cos(1,2); item 3 nothing -> one item, then padding
    # user 2 (items 1, 2): item 0 scores cos(0,1) + cos(0,2) = 0.8165
    # user 3 (item 3): no item shares a buyer with item 3 -> nothing
    np.testing.assert_array_equal(ids, [[2, -1, -1], [0, -1, -1], [-1, -1, -1]])
    np.testing.assert_allclose(scores[:, 0], [COS_12, COS_01, -np.inf], rtol=1e-6)
    # one user per batch (a budget below any history's length x neighbours): the same lists
    one_by_one, _ = model.recommend([0, 2, 3], 3, filter_csr=HAND[[0, 2, 3]], max_cells=1)
    np.testing.assert_array_equal(one_by_one, [[2, -1, -1], [0, -1, -1], [-1, -1, -1]])
    # without the filter, user 0's own items score from each other: item 1 (cos 0.8165 from
    # item 0), item 0 (0.8165 from item 1) -- a tie, broken by the lower index -- then item 2
    ids, scores = model.recommend([0], 3)
    np.testing.assert_array_equal(ids, [[0, 1, 2]])
    np.testing.assert_allclose(scores[0], [COS_01, COS_01, COS_12], rtol=1e-6)


def test_neighbours_limit_and_bm25():
    # with one neighbour per item, item 1 keeps only item 0 (0.8165 > 0.5774); item 2 keeps item 1
    model = ItemKNNRecommender(neighbours=1).fit(HAND)
    assert {(int(r), int(c)) for r, c in zip(*model.similarity.nonzero())} == {(0, 1), (1, 0), (2, 1)}
    bm25 = ItemKNNRecommender(neighbours=10, method="bm25").fit(HAND)
    # BM25 weights change the values, not which items share buyers
    assert {(int(r), int(c)) for r, c in zip(*bm25.similarity.nonzero())} == {(0, 1), (1, 0), (1, 2), (2, 1)}
    with pytest.raises(ValueError, match="method"):
        ItemKNNRecommender(method="jaccard")


def test_itemknn_recovers_the_planted_blocks():
    data = build_interactions(planted_events())
    model = ItemKNNRecommender(neighbours=20, num_threads=1).fit(data.matrix)
    users = np.arange(len(data.users))
    ids, _ = model.recommend(users, 3, filter_csr=data.purchases)
    found = ids >= 0
    assert found[:, 0].all()
    assert (item_block(data.items.ids[ids[found]]) == np.broadcast_to(
        user_block(data.users.ids)[:, None], ids.shape)[found]).all()


def test_itemknn_metrics_beside_the_baseline():
    events = planted_events()
    split = temporal_split(events, dt.date(2019, 11, 8))
    _, metrics = evaluate_with_baseline(
        lambda: ALSRecommender({"factors": 4, "iterations": 15, "alpha": 10.0, "seed": 3}, num_threads=1),
        split, k=5, make_itemknn=lambda: ItemKNNRecommender(20, num_threads=1))
    for name in ("precision_at_5", "recall_at_5", "map_at_5", "ndcg_at_5", "coverage"):
        assert 0.0 <= metrics[f"itemknn_{name}"] <= 1.0
    # item-kNN finds the blocks too: well above popularity, which offers everyone block 0
    assert metrics["itemknn_ndcg_at_5"] > 2 * metrics["baseline_ndcg_at_5"]
    assert metrics["itemknn_seconds"] > 0
