"""The models on known answers: top-k search, popularity, ALS and content on the planted shop,
the hybrid blend, and saving/loading."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from test_recommend_planted import item_block, planted_catalogue, planted_events, user_block

from shopflow.recommend import hybrid
from shopflow.recommend.als import ALSRecommender
from shopflow.recommend.artifacts import TrainedALS, similar_frame
from shopflow.recommend.content import ContentModel, category_keys, item_documents
from shopflow.recommend.data import build_interactions
from shopflow.recommend.evaluation import evaluate_with_baseline, random_split, temporal_split
from shopflow.recommend.popularity import PopularityRecommender
from shopflow.recommend.topk import top_k, top_k_numpy

# Four factors for four planted blocks: the structure has rank 4, more factors start fitting
# individual co-purchases instead.
SMALL_ALS = {"factors": 4, "iterations": 15, "alpha": 10.0, "regularization": 0.1, "seed": 3}


@pytest.fixture(scope="module")
def events():
    return planted_events()


@pytest.fixture(scope="module")
def data(events):
    return build_interactions(events)


# --------------------------------------------------------------------------- top-k search


def test_top_k_hand_example_with_filter_and_padding():
    items = np.eye(4, dtype=np.float32)
    query = np.array([[4, 3, 2, 1], [1, 2, 3, 4]], dtype=np.float32)
    # row 0 may not get items 0, 1, 2: one eligible item (3), then padding
    filt = sp.csr_matrix(np.array([[1, 1, 1, 0], [0, 0, 0, 0]], dtype=np.float32))
    ids, scores = top_k(query, items, 3, filter_csr=filt, num_threads=1)
    np.testing.assert_array_equal(ids, [[3, -1, -1], [3, 2, 1]])
    np.testing.assert_array_equal(scores, [[1, -np.inf, -np.inf], [4, 3, 2]])
    # asking for more items than exist pads instead of inventing ids
    ids, _ = top_k(query[:1], items, 6, num_threads=1)
    np.testing.assert_array_equal(ids, [[0, 1, 2, 3, -1, -1]])


def test_top_k_implementations_agree():
    rng = np.random.default_rng(5)
    query, items = rng.normal(size=(300, 16)), rng.normal(size=(500, 16))
    a_ids, a_scores = top_k(query, items, 10, num_threads=2, batch_size=64)
    b_ids, b_scores = top_k_numpy(query, items, 10, batch_size=100, threads=2)
    np.testing.assert_array_equal(a_ids, b_ids)
    np.testing.assert_allclose(a_scores, b_scores, rtol=1e-5)
    brute = np.argsort(-(query @ items.T), axis=1)[:, :10]
    np.testing.assert_array_equal(b_ids, brute)


def test_top_k_filter_matches_brute_force_for_every_history_length():
    rng = np.random.default_rng(8)
    query, items = rng.normal(size=(200, 8)), rng.normal(size=(60, 8))
    # filter rows of 0 .. 55 items: every bucket, up to rows left with fewer than k items
    lengths = np.arange(200) % 56
    rows = np.repeat(np.arange(200), lengths)
    cols = np.concatenate([rng.choice(60, size=n, replace=False) for n in lengths])
    filt = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(200, 60))
    ids, _ = top_k(query, items, 10, filter_csr=filt, num_threads=1, batch_size=32)
    scores = query @ items.T
    scores[rows, cols] = -np.inf
    for u in range(200):
        eligible = np.flatnonzero(np.isfinite(scores[u]))
        expected = eligible[np.argsort(-scores[u, eligible], kind="stable")][:10]
        got = ids[u][ids[u] >= 0]
        np.testing.assert_array_equal(got, expected)


def test_top_k_numpy_excludes_the_query_item():
    vectors = np.array([[1, 0], [0.9, 0.1], [0, 1]], dtype=np.float32)
    ids, _ = top_k_numpy(vectors, vectors, 1, exclude=np.array([0, 1, 2]))
    np.testing.assert_array_equal(ids, [[1], [0], [1]])


# --------------------------------------------------------------------------- popularity


def test_popularity_hand_example():
    # buyers per item: item0 1, item1 3, item2 1, item3 1, item4 0 -> order 1, 0, 2, 3, 4
    train = sp.csr_matrix(np.array([
        [1, 1, 0, 0, 0],
        [0, 1, 1, 0, 0],
        [0, 1, 0, 0, 0],
        [0, 0, 0, 1, 0],
    ], dtype=np.float32))
    model = PopularityRecommender().fit(train)
    ids, scores = model.recommend([0, 3], 3, filter_csr=train[[0, 3]])
    np.testing.assert_array_equal(ids, [[2, 3, 4], [1, 0, 2]])
    np.testing.assert_array_equal(scores, [[1, 1, 0], [3, 1, 1]])
    ids, _ = model.recommend([0], 6)
    np.testing.assert_array_equal(ids, [[1, 0, 2, 3, 4, -1]])


# --------------------------------------------------------------------------- known answers


def test_als_recovers_the_planted_blocks(data):
    model = ALSRecommender(SMALL_ALS, num_threads=1).fit(data.matrix)
    users = np.arange(len(data.users))
    ids, _ = model.recommend(users, 5, filter_csr=data.purchases)
    same = item_block(data.items.ids[ids]) == user_block(data.users.ids)[:, None]
    assert same.all()
    assert len(model.loss) == SMALL_ALS["iterations"]
    assert model.loss[-1] < model.loss[0]


def test_als_is_reproducible_with_a_seed(data):
    a = ALSRecommender(SMALL_ALS, num_threads=2).fit(data.matrix)
    b = ALSRecommender(SMALL_ALS, num_threads=2).fit(data.matrix)
    np.testing.assert_allclose(a.item_factors, b.item_factors, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("protocol", ["random", "temporal"])
def test_als_beats_popularity_on_the_planted_blocks(events, data, protocol):
    if protocol == "random":
        split = random_split(data, 0.2, seed=1)
    else:
        split = temporal_split(events, dt.date(2019, 11, 8))
    _, metrics = evaluate_with_baseline(lambda: ALSRecommender(SMALL_ALS, num_threads=1), split, k=5)
    # popularity sends everyone block 0's items: only about a quarter of users can be hit
    assert metrics["baseline_ndcg_at_5"] < 0.25
    assert metrics["ndcg_at_5"] > 2 * metrics["baseline_ndcg_at_5"]
    assert metrics["precision_at_5"] > 2 * metrics["baseline_precision_at_5"]
    assert metrics["coverage"] > metrics["baseline_coverage"]


def test_content_model_recovers_the_planted_blocks(events):
    catalogue = planted_catalogue(events)
    model = ContentModel({"dims": 100, "n_trees": 10, "seed": 1}).fit(catalogue)
    ids, cos = model.similar_all(5)
    assert (ids >= 0).all()
    own = item_block(model.items.ids)[:, None]
    assert (item_block(model.items.ids[ids]) == own).all()
    assert (ids != np.arange(model.n_items)[:, None]).all()
    # neighbours come best first, cosines within [-1, 1]
    assert (np.diff(cos, axis=1) <= 1e-6).all() and (cos <= 1 + 1e-6).all()
    exact_ids, _ = model.exact_similar(np.arange(model.n_items), 5)
    assert (item_block(model.items.ids[exact_ids]) == own).all()


def test_content_features_follow_the_reference():
    catalogue = pd.DataFrame({
        "product_id": [1, 2], "category_id": [7, 8], "category_code": ["a.b.c", None],
        "brand": ["acme", None], "price": [1.0, 9.0],
    })
    assert item_documents(catalogue) == ["cat=a cat=a.b cat=a.b.c brand=acme cid=7", "cid=8"]
    np.testing.assert_array_equal(category_keys(catalogue), ["a.b.c", "8"])
    both_missing = pd.DataFrame({"category_id": [None], "category_code": [None]})
    np.testing.assert_array_equal(category_keys(both_missing), ["unknown"])
    features = ContentModel().features(catalogue)
    # price column: log1p min-max -> item 1 at 0, item 2 at 1
    np.testing.assert_allclose(features[:, -1].toarray().ravel(), [0.0, 1.0])


def test_content_model_rejects_a_bad_catalogue():
    bad = pd.DataFrame({"product_id": [1, 1], "category_id": [1, 1], "category_code": [None, None],
                        "brand": [None, None], "price": [1.0, 2.0]})
    with pytest.raises(ValueError, match="one row per product_id"):
        ContentModel().fit(bad)
    with pytest.raises(ValueError, match="lacks columns"):
        ContentModel().fit(bad.drop(columns="price"))


# --------------------------------------------------------------------------- hybrid


def _cands(rows):
    return pd.DataFrame(rows, columns=["user_id", "product_id", "source", "rank"])


def test_blend_reciprocal_rank_fusion_hand_example():
    candidates = _cands([
        (1, 10, "als", 1), (1, 11, "als", 2), (1, 12, "als", 3),
        (1, 11, "similar", 1), (1, 13, "similar", 2),
        (1, 14, "category_bestseller", 1), (1, 10, "category_bestseller", 2),
    ])
    exclude = pd.DataFrame({"user_id": [1], "product_id": [12]})
    out = hybrid.blend(candidates, k=3, exclude=exclude)
    # 11: 1/(10+2) + 1/(10+1) = 0.174242 (als+similar); 10: 1/11 = 0.090909 (its best-seller row
    # is a lower tier and is dropped); 13: 1/12 = 0.083333; 12 is excluded
    assert out["product_id"].tolist() == [11, 10, 13]
    assert out["source"].tolist() == ["als+similar", "als", "similar"]
    np.testing.assert_allclose(out["score"], [1 / 12 + 1 / 11, 1 / 11, 1 / 12])
    assert out["rank"].tolist() == [1, 2, 3]


def test_global_fill_only_for_short_lists():
    candidates = _cands([(1, 10, "als", 1), (1, 11, "similar", 1), (2, 10, "similar", 1), (2, 11, "similar", 2)])
    out = hybrid.with_global_fill(candidates, users=[1, 2, 3], global_items=[10, 20, 21], k=2)
    got = {u: list(zip(f["product_id"], f["source"])) for u, f in out.groupby("user_id")}
    # user 1: 10 and 11 tie at 1/11 -> product id order; user 2: full; user 3: only global
    assert got == {
        1: [(10, "als"), (11, "similar")],
        2: [(10, "similar"), (11, "similar")],
        3: [(10, "global_bestseller"), (20, "global_bestseller")],
    }


def test_blend_rejects_unknown_sources():
    with pytest.raises(ValueError, match="unknown recommendation sources"):
        hybrid.blend(_cands([(1, 1, "magic", 1)]), k=3)


def test_category_bestsellers_hand_example():
    items = pd.DataFrame({
        "product_id": [1, 2, 3, 4, 5], "category": ["a", "a", "a", "b", "b"], "n_purchases": [3, 5, 5, 0, 2],
    })
    out = hybrid.category_bestsellers(items, top_n=2)
    # a: 2 and 3 tie at 5 -> by id; b: 4 was never bought
    assert out.to_dict("records") == [
        {"category": "a", "rank": 1, "product_id": 2, "n_purchases": 5},
        {"category": "a", "rank": 2, "product_id": 3, "n_purchases": 5},
        {"category": "b", "rank": 1, "product_id": 5, "n_purchases": 2},
    ]
    np.testing.assert_array_equal(hybrid.global_bestsellers(items, 3), [2, 3, 1])


# --------------------------------------------------------------------------- persistence


def test_trained_als_round_trip_and_serving(tmp_path, data):
    model = ALSRecommender(SMALL_ALS, num_threads=1).fit(data.matrix)
    trained = TrainedALS(model, data.users, data.items, data.purchases, {"run_date": "2019-11-10"})
    loaded = TrainedALS.load(trained.save(tmp_path / "als"))
    assert loaded.meta["run_date"] == "2019-11-10"
    users = data.users.ids[:20]
    before = trained.recommend_users(users, 5)
    pd.testing.assert_frame_equal(loaded.recommend_users(users, 5), before)
    # already-bought items never come back
    bought = {(u, p) for u in users for p in trained.bought(u)}
    assert not bought & set(zip(before["user_id"], before["product_id"]))
    # a shopper the model has not seen, who bought two items of block 2, gets block 2
    fresh = loaded.recommend_history([300, 301], k=5)
    assert (item_block(fresh["product_id"]) == 2).all()
    assert not {300, 301} & set(fresh["product_id"])


def test_content_model_round_trip(tmp_path, events):
    model = ContentModel({"dims": 8, "n_trees": 5}).fit(planted_catalogue(events))
    loaded = ContentModel.load(model.save(tmp_path / "content"))
    pd.testing.assert_frame_equal(similar_frame(loaded, None, 4), similar_frame(model, None, 4))
