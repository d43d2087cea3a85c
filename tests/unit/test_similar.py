"""Similar-items methods and their next-view comparison (recommend/similar.py) on a hand-built
catalogue whose content neighbours are fixed, so every list and rate is worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_recommend_planted import item_block, planted_catalogue, planted_events

from shopflow.recommend import similar
from shopflow.recommend.content import ContentModel
from shopflow.recommend.data import IdMap

# Items 1-4 in category a, 5-6 in category b.
CATALOGUE = pd.DataFrame({
    "product_id": [1, 2, 3, 4, 5, 6],
    "category_id": [100, 100, 100, 100, 200, 200],
    "category_code": ["a", "a", "a", "a", "b", "b"],
    "brand": ["x"] * 6,
    "price": [1.0] * 6,
    "n_views_train": [10, 50, 30, 5, 7, 1],
    "n_views": [20, 60, 30, 50, 7, 9],
})
# Content neighbours by product id, nearest first (cosines 0.9, 0.8, 0.7).
NEIGHBOURS = {1: [4, 3, 2], 2: [1, 5, 3], 3: [2, 1, 4], 4: [1, 2, 3], 5: [6, 1, 2], 6: [5]}


class FixedContent:
    """What recommend/similar.py uses of a ContentModel, with fixed neighbours."""

    similar_method = None

    def __init__(self):
        self.catalogue = CATALOGUE
        self.items = IdMap.from_values(CATALOGUE["product_id"])
        self.n_items = len(CATALOGUE)

    def similar_all(self, k, item_idx=None):
        idx = np.arange(self.n_items) if item_idx is None else np.asarray(item_idx)
        ids = np.full((len(idx), k), -1, dtype=np.int64)
        cos = np.full((len(idx), k), -np.inf, dtype=np.float32)
        for row, i in enumerate(idx):
            near = self.items.index(NEIGHBOURS[int(self.items.ids[i])])[:k]
            ids[row, :len(near)] = near
            cos[row, :len(near)] = [0.9, 0.8, 0.7][:len(near)]
        return ids, cos


def _lists(model, method, k=2, views="n_views_train"):
    ids, _ = similar.neighbours(model, method, k, views=views, pool=3)
    return {int(model.items.ids[i]): [int(model.items.ids[j]) for j in row if j >= 0] for i, row in enumerate(ids)}


def test_lists_of_each_method_by_hand():
    model = FixedContent()
    assert _lists(model, "content") == {1: [4, 3], 2: [1, 5], 3: [2, 1], 4: [1, 2], 5: [6, 1], 6: [5]}
    # category a by training views: 2 (50), 3 (30), 1 (10), 4 (5); category b: 5 (7), 6 (1)
    assert _lists(model, "category_popular") == {1: [2, 3], 2: [3, 1], 3: [2, 1], 4: [2, 3], 5: [6], 6: [5]}
    # the 3 content neighbours fused, 1/(10 + content rank) + 1/(10 + views rank), ranks from 0.
    # Item 1: pool 4, 3, 2 with training views 5, 30, 50 (views ranks 2, 1, 0):
    #   4: 1/10 + 1/12 = 0.1833, 3: 1/11 + 1/11 = 0.1818, 2: 1/12 + 1/10 = 0.1833 -> 4, 2 (tie: content order)
    # Item 2: pool 1, 5, 3, views 10, 7, 30 (ranks 1, 2, 0): 1: 0.1909, 5: 0.1742, 3: 0.1833 -> 1, 3
    # Item 3: pool 2, 1, 4, views 50, 10, 5 (ranks 0, 1, 2): 2: 0.2, 1: 0.1818, 4: 0.1667 -> 2, 1
    # Item 4: pool 1, 2, 3, views 10, 50, 30 (ranks 2, 0, 1): 1: 0.1833, 2: 0.1909, 3: 0.1742 -> 2, 1
    # Item 5: pool 6, 1, 2, views 1, 10, 50 (ranks 2, 1, 0): 6: 0.1833, 1: 0.1818, 2: 0.1833 -> 6, 2
    assert _lists(model, "blend") == {1: [4, 2], 2: [1, 3], 3: [2, 1], 4: [2, 1], 5: [6, 2], 6: [5]}
    with pytest.raises(ValueError, match="unknown similar-items method"):
        similar.neighbours(model, "random", 2)


def test_fusion_by_hand():
    # popularity of items 0, 1, 2: 5, 5, 9. Row 1: candidates 0, 2, 1 (ranks 0, 1, 2), views ranks
    # 2 -> 0, 0 -> 1, 1 -> 2: 0: 1/10 + 1/11, 2: 1/11 + 1/10 (a tie: the given order), 1: 1/12 + 1/12.
    # Row 2: candidates 1, 0 (tied views: ranks in the given order): 1: 2/10, 0: 2/11.
    ids = np.array([[0, 2, 1, -1], [1, 0, -1, -1]])
    out, scores = similar.fuse_with_popularity(ids, np.array([5.0, 5.0, 9.0]), 5)
    assert out.tolist() == [[0, 2, 1, -1, -1], [1, 0, -1, -1, -1]]
    np.testing.assert_allclose(scores, [[1 / 10 + 1 / 11, 1 / 11 + 1 / 10, 2 / 12, -np.inf, -np.inf],
                                        [2 / 10, 2 / 11, -np.inf, -np.inf, -np.inf]])


TRANSITIONS = pd.DataFrame({
    "product_id":      [1, 1, 2, 5, 3, 9],
    "next_product_id": [2, 4, 5, 6, 1, 1],
    "n_transitions":   [3, 1, 2, 1, 1, 5],  # 9 is not in the catalogue: left out
})


def test_next_view_comparison_by_hand():
    # weight 8 in all. content hits 1->4 (1), 2->5 (2), 5->6 (1), 3->1 (1): 5/8;
    # category_popular hits 1->2 (3), 5->6 (1), 3->1 (1): 5/8;
    # blend hits 1->2 (3), 1->4 (1), 5->6 (1), 3->1 (1): 6/8
    out = similar.compare_next_view(FixedContent(), TRANSITIONS, k=2, pool=3)
    assert out["metrics"] == {"content_next_view_hit_rate_at_2": 0.625,
                              "category_popular_next_view_hit_rate_at_2": 0.625,
                              "blend_next_view_hit_rate_at_2": 0.75}
    assert out["winner"] == "blend"
    # 2->5 four times instead of two: content 7/10, category_popular 5/10, blend 6/10
    more = TRANSITIONS.assign(n_transitions=[3, 1, 4, 1, 1, 5])
    out = similar.compare_next_view(FixedContent(), more, k=2, pool=3)
    assert (out["winner"], out["metrics"]["content_next_view_hit_rate_at_2"]) == ("content", 0.7)
    # only 1->4: content and blend both 1.0, category_popular 0.0; a tie goes to the simpler method
    out = similar.compare_next_view(FixedContent(), TRANSITIONS.iloc[[1]], k=2, pool=3)
    assert out["metrics"]["content_next_view_hit_rate_at_2"] == out["metrics"]["blend_next_view_hit_rate_at_2"] == 1.0
    assert out["winner"] == "blend"
    empty = TRANSITIONS.iloc[[5]]
    assert similar.compare_next_view(FixedContent(), empty, k=2)["winner"] == similar.DEFAULT_METHOD


def test_published_frame_uses_the_models_method_and_window_views():
    model = FixedContent()
    model.similar_method = "blend"
    frame = similar.similar_items_frame(model, k=2, item_idx=[0, 4])
    # by window views. Item 1: pool 4, 3, 2, views 50, 30, 60 (ranks 1, 2, 0): 4: 1/10 + 1/11,
    # 3: 1/11 + 1/12, 2: 1/12 + 1/10 -> 4, 2. Item 5: pool 6, 1, 2, views 9, 20, 60 (ranks 2, 1, 0):
    # 6: 1/10 + 1/12, 1: 2/11, 2: 1/12 + 1/10 -> 6, 2 (a tie: content order)
    assert frame[["product_id", "rank", "similar_product_id"]].to_dict("list") == {
        "product_id": [1, 1, 5, 5], "rank": [1, 2, 1, 2], "similar_product_id": [4, 2, 6, 2]}
    np.testing.assert_allclose(frame["score"], [1 / 10 + 1 / 11, 1 / 12 + 1 / 10, 1 / 10 + 1 / 12, 1 / 12 + 1 / 10])
    content = similar.similar_items_frame(model, k=2, method="content", item_idx=[5])
    assert content.to_dict("list") == {"product_id": [6], "rank": [1], "similar_product_id": [5],
                                       "score": [pytest.approx(0.9)]}


def test_content_model_keeps_the_chosen_method(tmp_path):
    catalogue = planted_catalogue(planted_events())
    model = ContentModel({"n_trees": 10, "dims": 8}).fit(catalogue)
    assert similar.similar_items_frame(model, k=3)["score"].between(-1.0001, 1.0001).all()  # cosines by default
    model.similar_method = "category_popular"
    loaded = ContentModel.load(model.save(tmp_path / "m"))
    assert loaded.similar_method == "category_popular"
    frame = similar.similar_items_frame(loaded, k=3)
    # the planted blocks are the categories: same-category items stay in the block
    assert (item_block(frame["product_id"]) == item_block(frame["similar_product_id"])).all()
    assert len(frame) == 3 * len(catalogue)


def test_publish_writes_the_similar_items_of_the_method_the_content_run_chose():
    from shopflow.publish import shared_sources

    sales = pd.DataFrame({"product_id": [1], "category_id": [100], "category_code": ["a"], "n_purchases": [1]})
    model = FixedContent()
    lists = {}
    for method in ("content", "category_popular"):
        model.similar_method = method
        frame = shared_sources(sales, model, n_similar=2)["similar"]
        lists[method] = frame.groupby("product_id")["similar_product_id"].agg(list).to_dict()
    # content: the fixed neighbours; category_popular: the category's most viewed other items by
    # window views (n_views): a 2 (60), 4 (50), 3 (30), 1 (20); b 6 (9), 5 (7)
    assert lists["content"] == {1: [4, 3], 2: [1, 5], 3: [2, 1], 4: [1, 2], 5: [6, 1], 6: [5]}
    assert lists["category_popular"] == {1: [2, 4], 2: [4, 3], 3: [2, 4], 4: [2, 3], 5: [6], 6: [5]}
