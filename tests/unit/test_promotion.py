"""Paired promotion (recommend/promotion.py) on hand-built cases; the arithmetic is in the comments.

ndcg@2 of one held-out item: 1 at rank 1, 1/log2(3) = 0.6309298 at rank 2, 0 when missed.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from shopflow import tracking
from shopflow.recommend import promotion
from shopflow.recommend.als import ALSParams, ALSRecommender
from shopflow.recommend.artifacts import TrainedALS
from shopflow.recommend.data import IdMap, Interactions
from shopflow.recommend.evaluation import Split, evaluate

RANK2 = 1 / math.log2(3)
CUTOFF = dt.date(2019, 11, 8)  # the hand-built splits' cutoff


# --------------------------------------------------------------------------- the pure policy


def test_better_challenger_is_promoted():
    # every user gains 0.5, so every resampled mean is 0.5: the interval is [0.5, 0.5]
    out = promotion.decide([1.0, 0.5, 1.0], [0.5, 0.0, 0.5], n_resamples=200, seed=1)
    assert (out.promote, out.decision) == (True, "promoted")
    assert (out.n_users, out.mean_difference, out.ci_low, out.ci_high) == (3, 0.5, 0.5, 0.5)
    assert (out.n_resamples, out.seed, out.confidence) == (200, 1, 0.95)
    assert "[0.5, 0.5]" in out.reason and "200 resamples, seed 1" in out.reason


def test_equal_challenger_is_kept():
    # identical per-user scores: every difference is 0, the interval is [0, 0] and holds zero
    out = promotion.decide([0.2, 0.0, 1.0], [0.2, 0.0, 1.0])
    assert (out.promote, out.decision, out.ci_low, out.ci_high, out.mean_difference) == (False, "kept", 0.0, 0.0, 0.0)


def test_worse_challenger_is_kept():
    # differences -0.5, -1, -1: every resampled mean lies in [-1, -0.5]
    out = promotion.decide([0.5, 0.0, 0.0], [1.0, 1.0, 1.0])
    assert (out.promote, out.decision) == (False, "kept")
    assert out.mean_difference == pytest.approx(-2.5 / 3)
    assert -1.0 <= out.ci_low <= out.ci_high <= -0.5


def test_better_on_average_but_not_beyond_chance_is_kept():
    # differences +1 and -1: a resample of two users has mean -1 (prob 1/4), 0 (1/2) or +1 (1/4),
    # so the 2.5% and 97.5% quantiles of 1000 resamples are -1 and +1
    out = promotion.decide([1.0, 0.0], [0.0, 1.0], n_resamples=1000, seed=0)
    assert (out.promote, out.ci_low, out.ci_high, out.mean_difference) == (False, -1.0, 1.0, 0.0)


def test_no_champion_promotes_and_a_gate_rejects():
    assert promotion.decide([0.1], None).decision == "promoted"
    assert promotion.decide([1.0], [0.0], gate_failures=["x = 0.1 < 0.9"]).decision == "rejected"
    assert promotion.decide([], []).decision == "kept"
    with pytest.raises(ValueError, match="paired"):
        promotion.decide([1.0, 0.0], [1.0])


def test_bootstrap_is_seeded_and_blocked():
    diff = np.array([0.3, -0.1, 0.2, 0.0, 0.5])
    one = promotion.bootstrap_ci(diff, 300, seed=5)
    # the same draws whether they come in one block or in blocks of 2 resamples (10 cells)
    assert promotion.bootstrap_ci(diff, 300, seed=5, max_cells=10) == one
    assert promotion.bootstrap_ci(diff, 300, seed=6) != one
    # every resampled mean lies between the smallest and largest difference
    assert -0.1 <= one[0] <= one[1] <= 0.5


# --------------------------------------------------------------------------- scoring the champion on a split

# The champion knows items 101..103 (block A) and 201..203 (block B) with orthogonal factors, so a
# user folded in from one block item gets a vector on that block's axis only and is offered the
# rest of the block, biggest factor first. With alpha = 1 and regularization 0.1 the fold-in of
# one item y is (Y'Y + 0.1 I)^-1 y = y / 2.1 (Y'Y = diag(2, 2)).
CHAMPION_ITEMS = [101, 102, 103, 201, 202, 203]
CHAMPION_FACTORS = [[1, 0], [0.8, 0], [0.6, 0], [0, 1], [0, 0.8], [0, 0.6]]
# Its training purchases (users 11..16): 203 has 3 buyers, 202 two, every other item one, so its
# best-sellers are 203, 202, then 101, 102, 103, 201.
CHAMPION_BOUGHT = {11: [203, 102], 12: [203, 103], 13: [203], 14: [202, 201], 15: [202], 16: [101]}


def _champion() -> TrainedALS:
    users, items = IdMap.from_values(list(CHAMPION_BOUGHT)), IdMap.from_values(CHAMPION_ITEMS)
    rows = [users.lookup(u) for u, bought in CHAMPION_BOUGHT.items() for _ in bought]
    cols = [items.lookup(i) for bought in CHAMPION_BOUGHT.values() for i in bought]
    purchases = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(len(users), len(items)))
    model = ALSRecommender.from_factors(ALSParams(factors=2, regularization=0.1, alpha=1.0, iterations=1),
                                        np.zeros((len(users), 2)), np.array(CHAMPION_FACTORS))
    # trained up to 1 November: before the cutoff of the splits below, so it is scored as it is
    return TrainedALS(model, users, items, purchases, meta={"weights": {"purchase": 1.0}, "window_end": "2019-11-01"})


def _split(items, bought: dict, held_out: dict) -> Split:
    """A temporal split by hand: ``bought`` before the cutoff, ``held_out`` after, user -> items."""
    users, items = IdMap.from_values(list(bought)), IdMap.from_values(items)

    def csr(pairs):
        rows = [users.lookup(u) for u, its in pairs.items() for _ in its]
        cols = [items.lookup(i) for its in pairs.values() for i in its]
        return sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(len(users), len(items)))

    train = Interactions(matrix=csr(bought), purchases=csr(bought), users=users, items=items)
    return Split("temporal", train, csr(held_out))


class FixedLists:
    """A 'model' whose lists are given by raw ids per raw user (the challenger in these cases)."""

    def __init__(self, split: Split, lists: dict):
        self.split, self.lists = split, lists

    def recommend(self, user_idx, k, filter_csr=None):
        users, items = self.split.train.users, self.split.train.items
        ids = np.array([items.index(self.lists[int(users.ids[u])])[:k] for u in user_idx])
        return ids, -np.tile(np.arange(k, dtype=np.float32), (len(ids), 1))


# The challenger's week: user 3 bought only item 301, which appeared after the champion was trained.
EASY_WEEK = _split([101, 102, 103, 201, 202, 203, 301],
                   bought={1: [101], 2: [201], 3: [301]},
                   held_out={1: [102], 2: [202], 3: [203]})
# The champion's own, older test week, on which it logged its number.
HARD_WEEK = _split(CHAMPION_ITEMS,
                   bought={1: [101], 2: [201], 3: [101], 4: [201]},
                   held_out={1: [103], 2: [101], 3: [201], 4: [102]})


def test_incumbent_recommends_in_the_splits_space():
    incumbent = promotion.IncumbentOnSplit(_champion(), EASY_WEEK)
    ids, _ = incumbent.recommend(np.array([0, 1, 2]), 2, filter_csr=EASY_WEEK.train.purchases)
    items = EASY_WEEK.train.items.ids
    # user 1 (from 101): 102 (0.8/2.1), 103 (0.6/2.1); user 2 (from 201): 202, 203;
    # user 3 knows nothing the champion knows: best-sellers 203, 202
    assert items[ids].tolist() == [[102, 103], [202, 203], [203, 202]]
    assert incumbent.fallback_users == 1


def test_incumbent_that_cannot_score_a_new_user_gets_the_popularity_fallback():
    challenger = FixedLists(EASY_WEEK, {1: [103, 102], 2: [203, 101], 3: [201, 202]})
    scored = promotion.compare(challenger, EASY_WEEK, promotion.IncumbentOnSplit(_champion(), EASY_WEEK), k=2)
    # challenger: user 1 hits 102 at rank 2; users 2 and 3 miss.
    # champion: every user hits at rank 1, user 3 through the best-sellers (203 first)
    assert scored["challenger"] == pytest.approx([RANK2, 0.0, 0.0])
    assert scored["champion"].tolist() == [1.0, 1.0, 1.0]
    assert scored["fallback_users"] == 1
    assert scored["champion_metrics"]["ndcg_at_2"] == 1.0
    assert scored["champion_metrics"]["users_evaluated"] == 3


def test_old_rule_promotes_a_worse_model_when_the_windows_differ_and_the_paired_rule_does_not():
    champion = _champion()
    challenger = FixedLists(EASY_WEEK, {1: [103, 102], 2: [203, 101], 3: [201, 202]})
    # What each run logged on its own week: the challenger 0.6309 / 3 = 0.2103 on the easy week;
    # the champion 0.6309 / 4 = 0.1577 on the hard one (user 1 finds 103 at rank 2, the rest miss)
    challenger_logged = evaluate(challenger, EASY_WEEK, 2)["ndcg_at_2"]
    champion_logged = evaluate(promotion.IncumbentOnSplit(champion, HARD_WEEK), HARD_WEEK, 2)["ndcg_at_2"]
    assert challenger_logged == pytest.approx(RANK2 / 3)
    assert champion_logged == pytest.approx(RANK2 / 4)
    promote, decision, _ = tracking.decide(challenger_logged, champion_logged)
    assert (promote, decision) == (True, "promoted")

    # On the same week the champion is better for every user: differences -0.369, -1, -1
    incumbent, how = promotion.incumbent_on_split(champion, EASY_WEEK, CUTOFF)
    assert how == "artifact"
    scored = promotion.compare(challenger, EASY_WEEK, incumbent, k=2)
    out = promotion.decide(scored["challenger"], scored["champion"])
    assert (out.promote, out.decision) == (False, "kept")
    assert out.mean_difference == pytest.approx((RANK2 - 3) / 3)
    assert -1.0 <= out.ci_low <= out.ci_high <= RANK2 - 1


def test_champion_history_under_its_own_weights():
    # The champion was trained with views; the split (purchases only) does not hold them, so the
    # history is rebuilt from the events before the cutoff: user 1 viewed 202 and bought 101.
    champion = _champion()
    champion.meta["weights"] = {"view": 0.5, "purchase": 1.0}
    events = pd.DataFrame({
        "user_id": [1, 1, 2, 1], "product_id": [101, 202, 201, 103],
        "event_type": ["purchase", "view", "purchase", "purchase"],
        "event_date": pd.to_datetime(["2019-11-01", "2019-11-02", "2019-11-02", "2019-11-05"]).date,
    })
    split = _split(CHAMPION_ITEMS, bought={1: [101], 2: [201]}, held_out={1: [103]})
    history = promotion.incumbent_history(split, champion, events, dt.date(2019, 11, 5))
    # rows users 1, 2; columns 101, 102, 103, 201, 202, 203; 103 was bought on the cutoff day
    assert history.toarray().tolist() == [[1, 0, 0, 0, 0.5, 0], [0, 0, 0, 1, 0, 0]]


def test_paired_rule_in_the_registry(tmp_path):
    from shopflow.config import get_settings

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SHOPFLOW_HOME", str(tmp_path))
        mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
        settings = get_settings()
        client = tracking.connect(settings)
        experiment_id = tracking.ensure_experiment(client, tracking.ALS, settings)
        champion = _champion()
        versions = []
        for _ in range(2):
            run_id = tracking.start_run(client, experiment_id, "r")
            (tmp_path / run_id).mkdir()
            versions.append((tracking.register(client, tracking.ALS, str(tmp_path / run_id), run_id), run_id))
        (v1, r1), (v2, r2) = versions
        first = promotion.promote_als(client, v1, r1, None, None, (None, None, ""))
        assert (first["champion_decision"], first["champion_reason"]) == ("promoted", "no champion yet")
        version = tracking.current_champion(client, tracking.ALS)
        challenger = FixedLists(EASY_WEEK, {1: [103, 102], 2: [203, 101], 3: [201, 202]})
        out = promotion.promote_als(client, v2, r2, EASY_WEEK, challenger, (champion, version, ""), k=2,
                                    cutoff=CUTOFF, n_resamples=100, seed=3)
        assert (out["champion"], out["champion_decision"], out["champion_previous_version"]) == (False, "kept", "1")
        assert client.get_model_version_by_alias(tracking.ALS, "champion").version == 1
        metrics = client.get_run(r2).data.metrics
        assert metrics["champion_temporal_ndcg_at_2"] == 1.0
        assert (metrics["promotion_resamples"], metrics["promotion_seed"], metrics["promotion_users"]) == (100, 3, 3)
        assert metrics["promotion_fallback_users"] == 1
        assert metrics["promotion_ci_high"] <= RANK2 - 1
        tags = client.get_model_version(tracking.ALS, v2).tags
        assert (tags["champion_decision"], tags["champion_rule"], tags["champion_scored_as"]) == (
            "kept", "paired_bootstrap", "artifact")

        # A daily retrain with the champion's settings is a refresh: promoted without a comparison
        run_id = tracking.start_run(client, experiment_id, "r")
        (tmp_path / run_id).mkdir()
        v3 = tracking.register(client, tracking.ALS, str(tmp_path / run_id), run_id)
        same = ALSRecommender.from_factors(champion.model.params, np.zeros((3, 2)), np.zeros((7, 2)))
        out = promotion.promote_als(client, v3, run_id, EASY_WEEK, same, (champion, version, ""), k=2, cutoff=CUTOFF)
        assert (out["champion_decision"], out["champion_reason"]) == ("promoted", "refresh: the champion's settings on newer data")
        assert client.get_model_version_by_alias(tracking.ALS, "champion").version == int(v3)


def test_a_model_below_a_gate_is_never_registered(tmp_path):
    # ALS that loses to popularity on the temporal protocol (beats_popularity = 0), and a content
    # index below the recall gate (0.5 < 0.9): neither enters the registry; the run says why.
    # A run that passes (beats_popularity = 1, or NaN: no temporal split) is registered.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SHOPFLOW_HOME", str(tmp_path))
        mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
        client = tracking.connect()
        registered = []

        def run_with(name, metrics):
            run_id = tracking.start_run(client, tracking.ensure_experiment(client, name), "r")
            tracking.log_metrics(client, run_id, metrics)
            (tmp_path / run_id).mkdir()

            def register():
                registered.append(run_id)
                return tracking.register(client, name, str(tmp_path / run_id), run_id)
            return run_id, register

        run_id, register = run_with(tracking.ALS, {"beats_popularity": 0.0})
        version, rejected = promotion.register_unless_gated(client, tracking.ALS, run_id, register)
        assert (version, registered, rejected["champion_decision"], rejected["registered"]) == (
            None, [], "rejected", False)
        assert "does not beat the popularity baseline" in client.get_run(run_id).data.tags["champion_reason"]
        assert client.get_run(run_id).data.tags["registered"] == "False"
        assert client.search_model_versions(f"name='{tracking.ALS}'") == []

        run_id, register = run_with(tracking.CONTENT, {"annoy_recall_at_10": 0.5})
        assert promotion.register_unless_gated(client, tracking.CONTENT, run_id, register)[0] is None
        assert registered == [] and client.search_model_versions(f"name='{tracking.CONTENT}'") == []

        for name, metrics in ((tracking.ALS, {"beats_popularity": 1.0}), (tracking.ALS, {"beats_popularity": math.nan}),
                              (tracking.CONTENT, {"annoy_recall_at_10": 0.95})):
            run_id, register = run_with(name, metrics)
            version, rejected = promotion.register_unless_gated(client, name, run_id, register)
            assert rejected is None and registered[-1] == run_id
            assert client.get_model_version(name, version).run_id == run_id


def test_a_champion_that_saw_the_test_days_is_refitted_on_the_split():
    # trained through the cutoff: its factors know the held-out purchases, so its settings are
    # fitted on the split's training days instead, and score exactly as that fit does
    champion = _champion()
    champion.meta["window_end"] = "2019-11-09"
    model, how = promotion.incumbent_on_split(champion, EASY_WEEK, CUTOFF)
    assert how == "refit"
    assert model.params == champion.model.params
    again = ALSRecommender(champion.model.params, num_threads=1).fit(EASY_WEEK.train.matrix)
    np.testing.assert_allclose(model.item_factors, again.item_factors, rtol=1e-5)
    assert model.item_factors.shape == (7, 2)  # the split's items, 301 included
    champion.meta["window_end"] = "2019-11-07"
    assert promotion.incumbent_on_split(champion, EASY_WEEK, CUTOFF)[1] == "artifact"


# --------------------------------------------------------------------------- the content model


class _CategoryModel:
    """A content model that publishes same-category best-sellers (no index needed)."""

    def __init__(self, product_ids, categories, views, method="category_popular"):
        self.items = IdMap(np.asarray(product_ids, dtype=np.int64))
        self.catalogue = pd.DataFrame({"product_id": product_ids, "category_id": categories,
                                       "category_code": [None] * len(product_ids), "n_views_train": views})
        self.similar_method = method

    @property
    def n_items(self):
        return len(self.items)


def test_content_pair_scores_average_to_the_weighted_hit_rate():
    # products 1, 2, 3 in category 7 (train views 10, 5, 1), 4 in category 8. At k = 1 each
    # product's similar item is the most viewed other one of its category: 1 -> 2, 2 -> 1,
    # 3 -> 1, 4 -> none. Transitions (count): 1 -> 2 (2) hit, 3 -> 2 (1) miss, 4 -> 1 (1) miss,
    # 9 -> 1 (1) unknown product, a miss. Mean count 5/4: scores 2 x 1 / 1.25 = 1.6, then 0s;
    # their mean 0.4 is the weighted hit rate 2/5.
    model = _CategoryModel([1, 2, 3, 4], [7, 7, 7, 8], [10.0, 5.0, 1.0, 3.0])
    transitions = pd.DataFrame({"product_id": [1, 3, 4, 9], "next_product_id": [2, 2, 1, 1],
                                "n_transitions": [2, 1, 1, 1]})
    scores = promotion.content_pair_scores(model, transitions, k=1)
    assert scores.tolist() == pytest.approx([1.6, 0.0, 0.0, 0.0])
    assert scores.mean() == pytest.approx(2 / 5)
    assert promotion.known_transitions(model, transitions)["product_id"].tolist() == [1, 3, 4]
