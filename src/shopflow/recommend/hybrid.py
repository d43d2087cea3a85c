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
    """
    weights = {**SOURCE_WEIGHTS, **(weights or {})}
    unknown = set(candidates["source"].unique()) - set(_TIER)
    if unknown:
        raise ValueError(f"unknown recommendation sources {sorted(unknown)}")
    if candidates.empty:
        return pd.DataFrame({c_: pd.Series(dtype=t) for c_, t in
                             zip(OUTPUT_COLUMNS, ("int64", "int64", "int64", "float64", "object"))})
    frame = candidates[["user_id", "product_id", "source", "rank"]].copy()
    if exclude is not None and len(exclude):
        drop = exclude[["user_id", "product_id"]].drop_duplicates().assign(_drop=True)
        frame = frame.merge(drop, on=["user_id", "product_id"], how="left")
        frame = frame.loc[frame["_drop"].isna()].drop(columns="_drop")
    frame["tier"] = frame["source"].map(_TIER).astype(np.int8)
    frame["flag"] = frame["source"].map(_FLAG).astype(np.int16)
    frame["score"] = frame["source"].map(weights).astype(np.float64) / (c + frame["rank"].astype(np.float64))
    best_tier = frame.groupby(["user_id", "product_id"])["tier"].transform("min")
    frame = frame.loc[frame["tier"] == best_tier]
    merged = frame.groupby(["user_id", "product_id"], as_index=False, sort=False).agg(
        tier=("tier", "first"), score=("score", "sum"), flag=("flag", "sum"))
    merged = merged.sort_values(["user_id", "tier", "score", "product_id"], ascending=[True, True, False, True])
    merged["rank"] = merged.groupby("user_id").cumcount() + 1
    merged = merged.loc[merged["rank"] <= k]
    merged["source"] = merged["flag"].map(_LABEL)
    return merged[OUTPUT_COLUMNS].reset_index(drop=True)


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
