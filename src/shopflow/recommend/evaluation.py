"""Offline evaluation: pure ranking metrics and the two splitting protocols.

Metrics take a boolean ``hits`` matrix (users x K: was the item recommended at that rank one of
the user's held-out items) and ``n_relevant`` (held-out items per user, all >= 1). Every metric
lies in [0, 1]. The definitions follow ``implicit.evaluation.ranking_metrics_at_k`` so that
``precision_at_k`` is comparable to the reference's 0.028:

* ``precision_at_k``        sum_u hits_u / sum_u min(K, n_u)   (micro average, implicit's)
* ``precision_at_k_strict`` mean_u hits_u / K
* ``recall_at_k``           mean_u hits_u / n_u
* ``map_at_k``              mean_u [sum_{i: hit at rank i} (hits up to i) / i] / min(K, n_u)
* ``ndcg_at_k``             mean_u DCG_u / IDCG_u, DCG = sum_{hit at rank i} 1/log2(i + 1),
                            IDCG = sum_{i=1..min(K, n_u)} 1/log2(i + 1)
* ``coverage``              distinct items recommended to the evaluated users / catalogue size

Protocols (see docs/recommend.md):

* :func:`random_split` -- the reference's: a fraction (20%) of the purchased user-item pairs,
  drawn with a seed, is held out; those pairs leave the training matrix entirely.
* :func:`temporal_split` -- train on the days before a cutoff, test on the purchases from the
  cutoff on by returning customers (a purchase before the cutoff: the users the hybrid serves
  with ALS) of items the training days know, excluding repeat purchases (which a model that
  filters already-bought items cannot recommend).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np
import pandas as pd

from shopflow.recommend.data import Interactions, build_interactions, pairs_to_csr, remove_pairs

METRIC_NAMES = ("precision", "precision_strict", "recall", "map", "ndcg")


# --------------------------------------------------------------------------- metric functions


def _check(hits: np.ndarray, n_relevant: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    hits = np.asarray(hits, dtype=bool)
    n_relevant = np.asarray(n_relevant, dtype=np.int64)
    if hits.ndim != 2 or hits.shape[0] != n_relevant.shape[0]:
        raise ValueError(f"hits {hits.shape} must be users x K with one n_relevant per user ({n_relevant.shape})")
    if (n_relevant < 1).any():
        raise ValueError("every evaluated user needs at least one held-out item")
    if (hits.sum(axis=1) > n_relevant).any():
        raise ValueError("a user has more hits than held-out items")
    return hits, n_relevant


def precision_at_k(hits, n_relevant) -> float:
    """implicit's precision: total hits / total min(K, held-out items). In [0, 1]."""
    hits, n_relevant = _check(hits, n_relevant)
    k = hits.shape[1]
    return float(hits.sum() / np.minimum(k, n_relevant).sum())


def precision_at_k_strict(hits, n_relevant) -> float:
    """Mean over users of hits / K. In [0, min(1, mean held-out / K)]."""
    hits, n_relevant = _check(hits, n_relevant)
    return float(hits.sum(axis=1).mean() / hits.shape[1])


def recall_at_k(hits, n_relevant) -> float:
    """Mean over users of hits / held-out items. In [0, 1]."""
    hits, n_relevant = _check(hits, n_relevant)
    return float((hits.sum(axis=1) / n_relevant).mean())


def map_at_k(hits, n_relevant) -> float:
    """Mean average precision, implicit's normalisation (by min(K, held-out)). In [0, 1]."""
    hits, n_relevant = _check(hits, n_relevant)
    k = hits.shape[1]
    ranks = np.arange(1, k + 1)
    precision_at_hit = np.cumsum(hits, axis=1) / ranks * hits
    return float((precision_at_hit.sum(axis=1) / np.minimum(k, n_relevant)).mean())


def ndcg_per_user(hits, n_relevant) -> np.ndarray:
    """DCG_u / IDCG_u for every user (binary relevance); each in [0, 1]. The paired promotion
    test (:mod:`~shopflow.recommend.promotion`) compares two models user by user with it."""
    hits, n_relevant = _check(hits, n_relevant)
    k = hits.shape[1]
    gains = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = (hits * gains).sum(axis=1)
    idcg = np.cumsum(gains)[np.minimum(k, n_relevant) - 1]
    return dcg / idcg


def ndcg_at_k(hits, n_relevant) -> float:
    """Normalised discounted cumulative gain with binary relevance. In [0, 1]."""
    return float(ndcg_per_user(hits, n_relevant).mean())


def coverage(recommended, n_items: int) -> float:
    """Share of the catalogue recommended to at least one user (-1 padding ignored). In [0, 1]."""
    recommended = np.asarray(recommended)
    if n_items <= 0:
        raise ValueError("the catalogue is empty")
    return float(np.unique(recommended[recommended >= 0]).size / n_items)


def hits_matrix(recommended: np.ndarray, relevant) -> np.ndarray:
    """``hits[u, i]``: is ``recommended[u, i]`` a non-zero of row ``u`` of ``relevant`` (CSR)?"""
    import scipy.sparse as sp

    relevant = sp.csr_matrix(relevant)
    relevant.sort_indices()
    recommended = np.asarray(recommended, dtype=np.int64)
    n_cols = relevant.shape[1]
    rows = np.repeat(np.arange(relevant.shape[0], dtype=np.int64), np.diff(relevant.indptr))
    keys = rows * n_cols + relevant.indices.astype(np.int64)
    query = np.arange(recommended.shape[0], dtype=np.int64)[:, None] * n_cols + recommended
    pos = np.searchsorted(keys, query)
    found = keys[np.minimum(pos, max(len(keys) - 1, 0))] == query if len(keys) else np.zeros(query.shape, bool)
    return found & (recommended >= 0)


def ranking_metrics(recommended: np.ndarray, relevant, n_items: int) -> dict[str, float]:
    """All metrics at K = ``recommended.shape[1]`` for users with >= 1 held-out item.

    ``relevant`` is CSR with one row per row of ``recommended``. Names carry the K:
    ``precision_at_15`` etc.
    """
    import scipy.sparse as sp

    relevant = sp.csr_matrix(relevant)
    k = recommended.shape[1]
    n_relevant = np.diff(relevant.indptr)
    keep = n_relevant > 0
    recommended, n_relevant = recommended[keep], n_relevant[keep]
    relevant = relevant[np.flatnonzero(keep)]
    out = {"users_evaluated": int(keep.sum())}
    if not keep.any():
        for name in METRIC_NAMES:
            out[f"{name}_at_{k}"] = float("nan")
        out["coverage"] = float("nan")
        return out
    hits = hits_matrix(recommended, relevant)
    out[f"precision_at_{k}"] = precision_at_k(hits, n_relevant)
    out[f"precision_at_{k}_strict"] = precision_at_k_strict(hits, n_relevant)
    out[f"recall_at_{k}"] = recall_at_k(hits, n_relevant)
    out[f"map_at_{k}"] = map_at_k(hits, n_relevant)
    out[f"ndcg_at_{k}"] = ndcg_at_k(hits, n_relevant)
    out["coverage"] = coverage(recommended, n_items)
    return out


# --------------------------------------------------------------------------- protocols


@dataclass(eq=False)
class Split:
    """A training matrix and the purchases to predict, on the same rows and columns."""

    name: str
    train: Interactions
    test: object
    info: dict = field(default_factory=dict)


def random_split(data: Interactions, test_fraction: float = 0.2, seed: int = 42) -> Split:
    """Hold out ``test_fraction`` of the purchased pairs, drawn uniformly with ``seed``.

    A held-out pair is removed from the training signal entirely (with weighted views, its view
    signal too), so the model cannot see the answer. Users whose every pair is held out keep an
    empty row and are evaluated, as in the reference (implicit's ``precision_at_k``).
    """
    import scipy.sparse as sp

    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), not {test_fraction}")
    bought = sp.coo_matrix(data.purchases)
    n_test = int(round(test_fraction * bought.nnz))
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(bought.nnz, size=n_test, replace=False))
    test = sp.csr_matrix(
        (np.ones(n_test, np.float32), (bought.row[chosen], bought.col[chosen])), shape=bought.shape
    )
    test.sort_indices()
    train = Interactions(
        matrix=remove_pairs(data.matrix, test),
        purchases=remove_pairs(data.purchases, test),
        users=data.users,
        items=data.items,
        weights=data.weights,
    )
    info = {"test_fraction": test_fraction, "test_pairs": int(test.nnz), "train_pairs": int(train.matrix.nnz)}
    return Split("random", train, test, info)


def temporal_split(
    events: pd.DataFrame, cutoff: dt.date, weights: Mapping[str, float] | None = None
) -> Split:
    """Train on events before ``cutoff``; test on purchases on or after it.

    Left out and counted in ``info``: pairs of users without a purchase before the cutoff
    (``cold_user_pairs``: whatever the event weights, so runs with and without view signals
    are scored on the same users), of items the training matrix lacks (``cold_item_pairs``),
    and repeat purchases of items bought before the cutoff (``repeat_pairs``).
    """
    if "event_date" not in events.columns:
        raise ValueError("the temporal split needs an event_date column")
    dates = pd.to_datetime(events["event_date"]).dt.date
    before = events.loc[dates < cutoff]
    after = events.loc[(dates >= cutoff) & (events["event_type"] == "purchase"), ["user_id", "product_id"]]
    if before.empty:
        raise ValueError(f"no events before the cutoff {cutoff}: the temporal split has nothing to train on")
    train = build_interactions(before, weights)
    pairs = after.drop_duplicates()
    user_idx = train.users.index(pairs["user_id"].to_numpy())
    returning = np.diff(train.purchases.indptr) > 0
    user_idx = np.where((user_idx >= 0) & returning[np.maximum(user_idx, 0)], user_idx, -1)
    item_idx = train.items.index(pairs["product_id"].to_numpy())
    test_all, _ = pairs_to_csr(pairs.loc[user_idx >= 0], train.users, train.items, value=None)
    repeat = test_all.multiply(train.purchases.astype(bool))
    test = remove_pairs(test_all, repeat.tocsr())
    info = {
        "cutoff": cutoff.isoformat(),
        "test_pairs_total": int(len(pairs)),
        "cold_user_pairs": int((user_idx < 0).sum()),
        "cold_item_pairs": int(((user_idx >= 0) & (item_idx < 0)).sum()),
        "repeat_pairs": int(repeat.nnz),
        "test_pairs": int(test.nnz),
        "train_pairs": int(train.matrix.nnz),
    }
    return Split("temporal", train, test, info)


def evaluate(model, split: Split, k: int = 15) -> dict[str, float]:
    """Recommend ``k`` items (already-bought filtered) to every user with held-out purchases and
    score them against those purchases. ``model`` must already be fitted on ``split.train``."""
    return evaluate_per_user(model, split, k)[0]


def evaluate_per_user(model, split: Split, k: int = 15) -> tuple[dict[str, float], np.ndarray, np.ndarray]:
    """:func:`evaluate`, plus the evaluated users (rows of the split, ascending) and each one's
    ndcg@k, for comparisons of two models on the same users."""
    import scipy.sparse as sp

    test = sp.csr_matrix(split.test)
    users = np.flatnonzero(np.diff(test.indptr) > 0)
    recommended, _ = model.recommend(users, k, filter_csr=split.train.purchases[users])
    relevant = test[users]
    metrics = ranking_metrics(recommended, relevant, n_items=split.train.matrix.shape[1])
    if len(users) == 0:
        return metrics, users, np.empty(0)
    per_user = ndcg_per_user(hits_matrix(recommended, relevant), np.diff(relevant.indptr))
    return metrics, users, per_user


def evaluate_with_baseline(
    make_model: Callable[[], object], split: Split, k: int = 15, make_itemknn: Callable[[], object] | None = None
) -> tuple[object, dict[str, float]]:
    """Fit ``make_model()`` and the baselines on the same split and score them all.

    Returns the fitted model and metrics, the popularity baseline's under a ``baseline_``
    prefix and, with ``make_itemknn``, the item-kNN baseline's (fitted on the same signal as the
    model) under ``itemknn_``, with its fit and evaluation time as ``itemknn_seconds``.
    """
    import time

    from shopflow.recommend.popularity import PopularityRecommender

    model = make_model().fit(split.train.matrix)
    metrics = evaluate(model, split, k)
    baseline = PopularityRecommender().fit(split.train.purchases)
    for key, value in evaluate(baseline, split, k).items():
        if key != "users_evaluated":
            metrics[f"baseline_{key}"] = value
    if make_itemknn is not None:
        start = time.perf_counter()
        knn = make_itemknn().fit(split.train.matrix)
        for key, value in evaluate(knn, split, k).items():
            if key != "users_evaluated":
                metrics[f"itemknn_{key}"] = value
        metrics["itemknn_seconds"] = time.perf_counter() - start
    return model, metrics


# --------------------------------------------------------------------------- content-model measures


def neighbour_recall(approx_true_scores: np.ndarray, exact_scores: np.ndarray, tol: float = 1e-5) -> float:
    """Recall@k of an approximate neighbour search against exact search, counting ties.

    ``approx_true_scores[q, i]`` is the exact similarity of the i-th neighbour the index returned
    for query q (-inf where it returned fewer); ``exact_scores[q]`` the exact top-k similarities.
    A returned neighbour counts as correct when it is at least as similar as the exact k-th
    neighbour: items with identical features are interchangeable, so plain id overlap would
    penalise a correct answer. In [0, 1].
    """
    approx_true_scores = np.asarray(approx_true_scores, dtype=np.float64)
    kth = np.asarray(exact_scores, dtype=np.float64)[:, -1:]
    return float((approx_true_scores >= kth - tol).mean())


def next_item_hit_rate(neighbours: np.ndarray, src: np.ndarray, dst: np.ndarray, weight=None) -> float:
    """Share of transitions src -> dst whose dst is among ``neighbours[src]`` (the first K
    columns). ``weight`` counts how many times each transition occurred. In [0, 1]."""
    neighbours = np.asarray(neighbours)
    src = np.asarray(src, dtype=np.int64)
    dst = np.asarray(dst, dtype=np.int64)
    weight = np.ones(len(src)) if weight is None else np.asarray(weight, dtype=np.float64)
    if len(src) == 0:
        return float("nan")
    hit = (neighbours[src] == dst[:, None]).any(axis=1)
    return float((hit * weight).sum() / weight.sum())


def category_popularity_neighbours(category: np.ndarray, popularity: np.ndarray, k: int) -> np.ndarray:
    """For every item, the ``k`` most popular other items of its category (-1 padded).

    The baseline for next-view prediction: what a shop shows without any model. Equal
    popularity is broken by the lower item index.
    """
    category = np.asarray(category)
    popularity = np.asarray(popularity, dtype=np.float64)
    n = len(category)
    codes, cat_idx = np.unique(category, return_inverse=True)
    order = np.lexsort((np.arange(n), -popularity, cat_idx))
    sorted_cat = cat_idx[order]
    starts = np.searchsorted(sorted_cat, np.arange(len(codes)))
    rank_in_cat = np.arange(n) - starts[sorted_cat]
    tops = np.full((len(codes), k + 1), -1, dtype=np.int64)
    near = rank_in_cat <= k
    tops[sorted_cat[near], rank_in_cat[near]] = order[near]
    candidates = tops[cat_idx]
    kept = (candidates != np.arange(n)[:, None]) & (candidates >= 0)
    slot = np.cumsum(kept, axis=1) - 1
    take = kept & (slot < k)
    out = np.full((n, k), -1, dtype=np.int64)
    rr, cc = np.nonzero(take)
    out[rr, slot[rr, cc]] = candidates[rr, cc]
    return out


__all__ = [
    "Split",
    "category_popularity_neighbours",
    "coverage",
    "evaluate",
    "evaluate_per_user",
    "evaluate_with_baseline",
    "hits_matrix",
    "map_at_k",
    "ndcg_at_k",
    "ndcg_per_user",
    "neighbour_recall",
    "next_item_hit_rate",
    "precision_at_k",
    "precision_at_k_strict",
    "random_split",
    "ranking_metrics",
    "recall_at_k",
    "temporal_split",
]
