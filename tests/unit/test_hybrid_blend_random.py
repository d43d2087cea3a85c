"""The array-based blend equals a plain pandas merge/groupby formulation on random candidates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shopflow.recommend import hybrid


def reference_blend(candidates, k, exclude=None, c=hybrid.RRF_C):
    """The blend written the obvious way, row by row with pandas (a different method)."""
    frame = candidates.copy()
    if exclude is not None and len(exclude):
        banned = set(zip(exclude["user_id"], exclude["product_id"]))
        frame = frame[[(u, p) not in banned for u, p in zip(frame["user_id"], frame["product_id"])]]
    frame = frame.assign(tier=frame["source"].map(hybrid._TIER),
                         score=frame["source"].map(hybrid.SOURCE_WEIGHTS) / (c + frame["rank"]))
    rows = []
    for (user, product), group in frame.groupby(["user_id", "product_id"]):
        best = group[group["tier"] == group["tier"].min()]
        names = [n for n in hybrid._FLAG if n in set(best["source"])]
        rows.append((user, product, best["tier"].iloc[0], best["score"].sum(), "+".join(names)))
    pairs = pd.DataFrame(rows, columns=["user_id", "product_id", "tier", "score", "source"])
    pairs = pairs.sort_values(["user_id", "tier", "score", "product_id"], ascending=[True, True, False, True])
    pairs["rank"] = pairs.groupby("user_id").cumcount() + 1
    return pairs[pairs["rank"] <= k][hybrid.OUTPUT_COLUMNS].reset_index(drop=True)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_blend_equals_the_reference_on_random_candidates(seed):
    rng = np.random.default_rng(seed)
    parts = []
    for source, n in (("als", 15), ("similar", 10), ("category_bestseller", 20), ("global_bestseller", 30)):
        for user in range(40):
            products = rng.choice(np.arange(1000, 1060), size=rng.integers(0, n), replace=False)
            parts.append(pd.DataFrame({"user_id": 7_000_000 + user * 13, "product_id": products,
                                       "source": source, "rank": np.arange(1, len(products) + 1)}))
    candidates = pd.concat(parts, ignore_index=True)
    exclude = candidates.sample(frac=0.1, random_state=seed)[["user_id", "product_id"]]
    exclude = pd.concat([exclude, pd.DataFrame({"user_id": [1, 7_000_000], "product_id": [1000, 99]})])
    got = hybrid.blend(candidates, k=15, exclude=exclude)
    want = reference_blend(candidates, 15, exclude)
    assert len(want) > 400
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want, check_dtype=False)
