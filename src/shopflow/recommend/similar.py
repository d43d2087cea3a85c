"""Similar items for a product page: three candidate methods, measured on next views, one published.

Methods (each gives every catalogue item ``k`` other items, best first):

* ``content`` -- the content model's Annoy neighbours (metadata similarity: category, brand, price);
* ``category_popular`` -- the most viewed other items of the item's category (what a shop shows
  without any model);
* ``blend`` -- the content model's ``pool`` nearest neighbours (default 20) ranked by
  reciprocal-rank fusion of their similarity rank and their views rank among them:
  1 / (10 + similarity rank) + 1 / (10 + views rank), ranks from 0, as ``hybrid.blend`` fuses
  sources. Popular items among the similar ones rise without letting popularity pull the list
  away from the current item (re-ranking the neighbours by views alone lost to both methods on
  every sample measured). Equal scores keep the content order.

Views are ``n_views_train`` (views before the test days) when measuring, so the test days'
views do not rank the candidates they are scored on, and ``n_views`` (the whole window) when
publishing.

:func:`compare_next_view` scores every method on the test days' consecutive views within a
session (next-view hit rate at k, weighted by how often the transition occurred) and names the
winner; the content run records the comparison and the winner (``similar_items_method``), which
is saved with the model, and :func:`similar_items_frame` builds the published frame with it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

METHODS = ("content", "category_popular", "blend")
#: Content neighbours fused by the blend, and the rank offset of the fusion.
BLEND_POOL = 20
RRF_OFFSET = 10.0
#: The published method when a model carries none (one trained before the comparison existed).
DEFAULT_METHOD = "content"


def _views(model, column: str) -> np.ndarray:
    catalogue = model.catalogue
    if column in catalogue.columns:
        return catalogue[column].fillna(0).to_numpy(dtype=np.float64)
    if "n_views" in catalogue.columns:
        return catalogue["n_views"].fillna(0).to_numpy(dtype=np.float64)
    return np.zeros(model.n_items)


def fuse_with_popularity(ids: np.ndarray, popularity: np.ndarray, k: int, offset: float = RRF_OFFSET):
    """Each row's candidates (-1 padded, best first) ranked by 1 / (offset + their rank) +
    1 / (offset + their popularity rank within the row), ranks from 0, ties in the given order;
    the first ``k`` kept. Returns (ids, fused scores; -inf padding)."""
    ids = np.asarray(ids, dtype=np.int64)
    valid = ids >= 0
    pop = np.where(valid, popularity[np.maximum(ids, 0)], -np.inf)
    by_pop = np.argsort(-pop, axis=1, kind="stable")
    pop_rank = np.empty_like(by_pop)
    np.put_along_axis(pop_rank, by_pop, np.broadcast_to(np.arange(ids.shape[1]), ids.shape).copy(), axis=1)
    fused = 1.0 / (offset + np.arange(ids.shape[1]))[None, :] + 1.0 / (offset + pop_rank)
    fused = np.where(valid, fused, -np.inf)
    order = np.argsort(-fused, axis=1, kind="stable")[:, :k]
    out = np.take_along_axis(ids, order, axis=1)
    out_scores = np.take_along_axis(fused, order, axis=1)
    if out.shape[1] < k:
        pad = k - out.shape[1]
        out = np.hstack([out, np.full((len(out), pad), -1, dtype=np.int64)])
        out_scores = np.hstack([out_scores, np.full((len(out), pad), -np.inf)])
    return out, out_scores


def neighbours(model, method: str, k: int = 10, item_idx=None, views: str = "n_views",
               pool: int = BLEND_POOL) -> tuple[np.ndarray, np.ndarray]:
    """(ids, scores) of ``method`` for the items at ``item_idx`` (all by default): n x k item
    indices, -1 padded. Scores: cosine (content), views (category_popular), the fused score
    (blend)."""
    from shopflow.recommend.content import category_keys
    from shopflow.recommend.evaluation import category_popularity_neighbours

    if method not in METHODS:
        raise ValueError(f"unknown similar-items method {method!r}; known: {METHODS}")
    idx = np.arange(model.n_items) if item_idx is None else np.asarray(item_idx, dtype=np.int64)
    if method == "content":
        ids, cos = model.similar_all(k, idx)
        return ids, cos.astype(np.float64)
    popularity = _views(model, views)
    if method == "category_popular":
        ids = category_popularity_neighbours(category_keys(model.catalogue), popularity, k)[idx]
        return ids, np.where(ids >= 0, popularity[np.maximum(ids, 0)], -np.inf)
    ids, _ = model.similar_all(max(pool, k), idx)
    return fuse_with_popularity(ids, popularity, k)


def compare_next_view(model, transitions: pd.DataFrame, k: int = 10, pool: int = BLEND_POOL) -> dict:
    """Next-view hit rate at ``k`` of every method on ``transitions`` (product_id,
    next_product_id, n_transitions; the test days), ranked by ``n_views_train``.

    Returns ``{"metrics": {"<method>_next_view_hit_rate_at_<k>": ...}, "winner": method}``;
    the winner is the highest rate, a tie going to the simpler method (category_popular, then
    blend, then content); with no transition to score, DEFAULT_METHOD.
    """
    from shopflow.recommend.evaluation import next_item_hit_rate

    src = model.items.index(transitions["product_id"].to_numpy())
    dst = model.items.index(transitions["next_product_id"].to_numpy())
    known = (src >= 0) & (dst >= 0)
    weight = transitions["n_transitions"].to_numpy(dtype=np.float64)[known]
    src, dst = src[known], dst[known]
    metrics = {}
    if len(src) == 0:
        for method in METHODS:
            metrics[f"{method}_next_view_hit_rate_at_{k}"] = float("nan")
        return {"metrics": metrics, "winner": DEFAULT_METHOD}
    sources = np.unique(src)
    rates = {}
    for method in METHODS:
        table = np.full((model.n_items, k), -1, dtype=np.int64)
        table[sources] = neighbours(model, method, k, sources, views="n_views_train", pool=pool)[0]
        rates[method] = next_item_hit_rate(table, src, dst, weight)
        metrics[f"{method}_next_view_hit_rate_at_{k}"] = rates[method]
    order = ("category_popular", "blend", "content")  # tie-break: the simplest method first
    winner = max(order, key=lambda m: (rates[m], -order.index(m)))
    return {"metrics": metrics, "winner": winner}


def similar_items_frame(model, k: int = 10, method: str | None = None, item_idx=None) -> pd.DataFrame:
    """The ``rec_similar_items`` rows of a content model: (product_id, rank, similar_product_id,
    score), ``k`` per item, by ``method`` (default: the one the model's training run chose,
    ``model.similar_method``). Scores: cosines for ``content``, window views for
    ``category_popular``, the fused score for ``blend``."""
    method = method or getattr(model, "similar_method", None) or DEFAULT_METHOD
    idx = np.arange(model.n_items) if item_idx is None else np.asarray(item_idx, dtype=np.int64)
    ids, scores = neighbours(model, method, k, idx, views="n_views")
    rows, ranks = np.nonzero(ids >= 0)
    return pd.DataFrame({
        "product_id": model.items.ids[idx[rows]],
        "rank": (ranks + 1).astype(np.int64),
        "similar_product_id": model.items.ids[ids[rows, ranks]],
        "score": np.asarray(scores, dtype=np.float64)[rows, ranks],
    })
