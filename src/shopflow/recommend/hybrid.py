"""The hybrid: blend ranked lists from several sources into one list per user.

Sources, in tiers:

1. ``als`` (collaborative, for users with a purchase history) and ``similar`` (content
   neighbours of the item the user is looking at or last viewed). Blended by weighted
   reciprocal-rank fusion: an item scores sum_s w_s / (C + rank_s) over the sources that list it,
   so an item both sources agree on rises, and neither source's raw scores (inner products vs
   cosines) need to be comparable. C = 10 keeps the top of each list decisive.
2. ``category_bestseller`` -- best-sellers of the anchor item's category, filling the list.
3. ``global_bestseller`` -- best-sellers of the whole shop, for whoever is still short.

A lower tier only fills places the tiers above leave empty. Already-bought items (and the anchor
item itself) are excluded from every source. Fill-in scores use small weights (1e-2, 1e-3) so
scores fall with rank down the whole list.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

RRF_C = 10.0
SOURCE_WEIGHTS: dict[str, float] = {"als": 1.0, "similar": 1.0, "category_bestseller": 1e-2, "global_bestseller": 1e-3}
_TIER = {"als": 0, "similar": 0, "category_bestseller": 1, "global_bestseller": 2}
# One bit per source: a (user, product) appears at most once per source, so a sum of flags is
# their bitwise OR and a groupby can aggregate it with a plain sum.
_FLAG = {"als": 1, "similar": 2, "category_bestseller": 4, "global_bestseller": 8}
_LABEL = {
    flags: "+".join(name for name, bit in _FLAG.items() if flags & bit) for flags in range(1, 16)
}
_LABELS = np.array([_LABEL.get(flags, "") for flags in range(16)], dtype=object)
OUTPUT_COLUMNS = ["user_id", "rank", "product_id", "score", "source"]


def blend(
    candidates: pd.DataFrame,
    k: int,
    exclude: pd.DataFrame | None = None,
    weights: Mapping[str, float] | None = None,
    c: float = RRF_C,
) -> pd.DataFrame:
    """Blend ``candidates`` (user_id, product_id, source, rank >= 1) into the top ``k`` per user.

    ``exclude`` (user_id, product_id) rows are never recommended. Returns
    (user_id, rank, product_id, score, source), ranks 1..k per user; fewer rows for a user when
    the candidates run out.

    Written with sorts and bincounts on dense integer keys rather than pandas merges and
    groupbys: publishing calls it on millions of candidate rows per batch of users, where the
    pandas version spent seconds per call in hashing and block copies.
    """
    weights = {**SOURCE_WEIGHTS, **(weights or {})}
    codes, names = pd.factorize(candidates["source"])
    unknown = set(names) - set(_TIER)
    if unknown:
        raise ValueError(f"unknown recommendation sources {sorted(unknown)}")
    if candidates.empty:
        return pd.DataFrame({c_: pd.Series(dtype=t) for c_, t in
                             zip(OUTPUT_COLUMNS, ("int64", "int64", "int64", "float64", "object"))})
    tier = np.array([_TIER[n] for n in names], dtype=np.int64)[codes]
    flag = np.array([_FLAG[n] for n in names], dtype=np.int64)[codes]
    score = (np.array([weights[n] for n in names], dtype=np.float64)[codes]
             / (c + candidates["rank"].to_numpy(dtype=np.float64)))
    user_ids, user = np.unique(candidates["user_id"].to_numpy(dtype=np.int64), return_inverse=True)
    product_ids, product = np.unique(candidates["product_id"].to_numpy(dtype=np.int64), return_inverse=True)
    n_products = len(product_ids)
    key = user.astype(np.int64) * n_products + product
    if exclude is not None and len(exclude):
        key = _drop_excluded(key, exclude, user_ids, product_ids)
        keep = key >= 0
        key, tier, flag, score = key[keep], tier[keep], flag[keep], score[keep]
    # Per (user, product): only the rows of its best tier count; their scores and flags add up.
    order = np.argsort(key * 4 + tier)  # tiers are 0..2: one int64 sort key instead of a lexsort
    key_s, tier_s = key[order], tier[order]
    starts = np.empty(len(key_s), dtype=bool)
    starts[:1] = True
    starts[1:] = key_s[1:] != key_s[:-1]
    group = np.cumsum(starts) - 1
    best = tier_s == tier_s[starts][group]
    n_groups = int(starts.sum())
    pair_score = np.bincount(group[best], weights=score[order][best], minlength=n_groups)
    pair_flag = np.bincount(group[best], weights=flag[order][best], minlength=n_groups).astype(np.int64)
    pair_key, pair_tier = key_s[starts], tier_s[starts]
    pair_user, pair_product = pair_key // n_products, product_ids[pair_key % n_products]
    # Rank within a user: tier, then score (high first), then product id.
    ranked = np.lexsort((pair_product, -pair_score, pair_tier, pair_user))
    ranked_user = pair_user[ranked]
    first = np.empty(len(ranked), dtype=bool)
    first[:1] = True
    first[1:] = ranked_user[1:] != ranked_user[:-1]
    position = np.arange(len(ranked))
    rank = position - np.maximum.accumulate(np.where(first, position, 0)) + 1
    top = ranked[rank <= k]
    return pd.DataFrame({
        "user_id": user_ids[pair_user[top]],
        "rank": rank[rank <= k].astype(np.int64),
        "product_id": pair_product[top],
        "score": pair_score[top],
        "source": _LABELS[pair_flag[top]],
    })


def _drop_excluded(key: np.ndarray, exclude: pd.DataFrame, user_ids: np.ndarray, product_ids: np.ndarray):
    """``key`` with -1 where the (user, product) pair is in ``exclude`` (ids outside the
    candidates' ids cannot match and are ignored)."""
    ex_user = exclude["user_id"].to_numpy(dtype=np.int64)
    ex_product = exclude["product_id"].to_numpy(dtype=np.int64)
    u = np.minimum(np.searchsorted(user_ids, ex_user), len(user_ids) - 1)
    p = np.minimum(np.searchsorted(product_ids, ex_product), len(product_ids) - 1)
    found = (user_ids[u] == ex_user) & (product_ids[p] == ex_product)
    ex_key = u[found].astype(np.int64) * len(product_ids) + p[found]
    return np.where(np.isin(key, ex_key), -1, key)


def with_global_fill(
    candidates: pd.DataFrame,
    users,
    global_items,
    k: int,
    exclude: pd.DataFrame | None = None,
    weights: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """:func:`blend`, then the users in ``users`` left with fewer than ``k`` items are blended again
    with the global best-sellers (``global_items``, best first) added to their candidates.

    Global rows are built only for the users who need them, not for every user.
    """
    first = blend(candidates, k, exclude, weights)
    users = pd.Index(pd.unique(np.asarray(users, dtype=np.int64)))
    counts = first.groupby("user_id").size().reindex(users, fill_value=0)
    short = counts.index[counts < k].to_numpy()
    if len(short) == 0 or len(global_items) == 0:
        return first
    # Enough global items to survive the user's exclusions in almost every case.
    n_global = min(len(global_items), 2 * k)
    fill = pd.DataFrame({
        "user_id": np.repeat(short, n_global),
        "product_id": np.tile(np.asarray(global_items[:n_global], dtype=np.int64), len(short)),
        "source": "global_bestseller",
        "rank": np.tile(np.arange(1, n_global + 1), len(short)),
    })
    again = pd.concat([candidates.loc[candidates["user_id"].isin(short)], fill], ignore_index=True)
    second = blend(again, k, exclude, weights)
    kept = first.loc[~first["user_id"].isin(short)]
    return pd.concat([kept, second], ignore_index=True).sort_values(["user_id", "rank"]).reset_index(drop=True)


def category_bestsellers(items: pd.DataFrame, top_n: int = 20) -> pd.DataFrame:
    """Best-sellers per category from (product_id, category, n_purchases): the ``top_n`` most
    purchased products of each category, ties by product id. Products never bought are left out.
    Returns (category, rank, product_id, n_purchases)."""
    bought = items.loc[items["n_purchases"] > 0, ["category", "product_id", "n_purchases"]]
    ordered = bought.sort_values(["category", "n_purchases", "product_id"], ascending=[True, False, True])
    ordered = ordered.assign(rank=ordered.groupby("category").cumcount() + 1)
    out = ordered.loc[ordered["rank"] <= top_n, ["category", "rank", "product_id", "n_purchases"]]
    return out.astype({"rank": "int64", "product_id": "int64", "n_purchases": "int64"}).reset_index(drop=True)


def global_bestsellers(items: pd.DataFrame, top_n: int = 50) -> np.ndarray:
    """Product ids of the ``top_n`` most purchased products, ties by product id."""
    bought = items.loc[items["n_purchases"] > 0]
    ordered = bought.sort_values(["n_purchases", "product_id"], ascending=[False, True])
    return ordered["product_id"].to_numpy(dtype=np.int64)[:top_n]


def similar_candidates(anchors: pd.DataFrame, similar: pd.DataFrame) -> pd.DataFrame:
    """Candidates from the neighbours of each user's anchor item.

    ``anchors``: (user_id, anchor_product_id); ``similar``: (product_id, rank, similar_product_id).
    """
    joined = anchors.merge(similar, left_on="anchor_product_id", right_on="product_id", how="inner")
    return pd.DataFrame({
        "user_id": joined["user_id"].to_numpy(dtype=np.int64),
        "product_id": joined["similar_product_id"].to_numpy(dtype=np.int64),
        "source": "similar",
        "rank": joined["rank"].to_numpy(dtype=np.int64),
    })


def category_candidates(anchors: pd.DataFrame, bestsellers: pd.DataFrame) -> pd.DataFrame:
    """Candidates from the best-sellers of each user's anchor category.

    ``anchors``: (user_id, category); ``bestsellers``: (category, rank, product_id, ...).
    """
    joined = anchors.merge(bestsellers, on="category", how="inner")
    return pd.DataFrame({
        "user_id": joined["user_id"].to_numpy(dtype=np.int64),
        "product_id": joined["product_id"].to_numpy(dtype=np.int64),
        "source": "category_bestseller",
        "rank": joined["rank"].to_numpy(dtype=np.int64),
    })


def als_candidates(ranked: pd.DataFrame) -> pd.DataFrame:
    """Candidates from ALS output (user_id, rank, product_id, score)."""
    return pd.DataFrame({
        "user_id": ranked["user_id"].to_numpy(dtype=np.int64),
        "product_id": ranked["product_id"].to_numpy(dtype=np.int64),
        "source": "als",
        "rank": ranked["rank"].to_numpy(dtype=np.int64),
    })
