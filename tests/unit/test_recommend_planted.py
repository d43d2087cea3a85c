"""A tiny shop with a planted block structure, shared by the recommender tests.

Block b (0..3) has items 100*(b+1) .. 100*(b+1)+11, all with category code ``cat<b>.sub``,
category id 2000+b and brand ``brand<b>``; its 30 users (10000+100*b+u) only view and buy items of
their block. Block 0's items sell best, so the popularity baseline recommends block 0 to everyone
while a model that finds the blocks recommends each user their own block.

The truth a test checks a model against is ``block_of(id) = id // 100 - 1`` for items and
``(id - 10000) // 100`` for users, never the model's own output.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from shopflow.schema import EVENTS_COLUMNS

START = dt.date(2019, 11, 1)
N_BLOCKS, USERS_PER_BLOCK, ITEMS_PER_BLOCK, DAYS = 4, 30, 12, 10


def item_block(product_id) -> np.ndarray:
    return np.asarray(product_id) // 100 - 1


def user_block(user_id) -> np.ndarray:
    return (np.asarray(user_id) - 10_000) // 100


def planted_events(seed: int = 0) -> pd.DataFrame:
    """Events in the warehouse ``events`` layout over DAYS days from START."""
    rng = np.random.default_rng(seed)
    rows = []
    for b in range(N_BLOCKS):
        items = np.array([100 * (b + 1) + i for i in range(ITEMS_PER_BLOCK)])
        # Block 0 users buy 5 times, the others 4: block 0's items are the global best-sellers.
        sessions = 5 if b == 0 else 4
        for u in range(USERS_PER_BLOCK):
            user = 10_000 + 100 * b + u
            for s in range(sessions):
                day = START + dt.timedelta(days=int(rng.integers(0, DAYS)))
                t0 = pd.Timestamp(day, tz="UTC") + pd.Timedelta(minutes=int(rng.integers(0, 1000)))
                seen = rng.choice(items, size=3, replace=False)
                session = f"s-{user}-{s}"
                for j, item in enumerate(seen):
                    rows.append((t0 + pd.Timedelta(seconds=30 * j), "view", int(item), b, session, user, day))
                rows.append((t0 + pd.Timedelta(seconds=100), "purchase", int(seen[0]), b, session, user, day))
    ev = pd.DataFrame(rows, columns=["event_time", "event_type", "product_id", "block", "user_session",
                                     "user_id", "event_date"])
    ev["category_id"] = 2_000 + ev["block"]
    ev["category_code"] = "cat" + ev["block"].astype(str) + ".sub"
    ev["brand"] = "brand" + ev["block"].astype(str)
    ev["price"] = 10.0 * (ev["block"] + 1) + (ev["product_id"] % 100) * 0.5
    ev["category"] = "cat" + ev["block"].astype(str)
    ev["sub_category"] = "sub"
    ev["product"] = "sub"
    ev["event_hour"] = ev["event_time"].dt.hour.astype("int64")
    ev["event_weekday"] = (ev["event_time"].dt.dayofweek + 1).astype("int64")
    return ev[list(EVENTS_COLUMNS)]


def planted_catalogue(events: pd.DataFrame) -> pd.DataFrame:
    """One row per item, as the training query returns it."""
    return (
        events.groupby("product_id", as_index=False)
        .agg(category_id=("category_id", "max"), category_code=("category_code", "max"),
             brand=("brand", "max"), price=("price", "mean"))
        .assign(n_views_train=0, n_purchases=0)
    )


def test_planted_events_keep_users_inside_their_block():
    ev = planted_events()
    assert (item_block(ev["product_id"]) == user_block(ev["user_id"])).all()
    assert set(ev["event_type"]) == {"view", "purchase"}
    assert ev["user_id"].nunique() == N_BLOCKS * USERS_PER_BLOCK
    # 5 purchases per block-0 user, 4 for the others.
    assert (ev["event_type"] == "purchase").sum() == USERS_PER_BLOCK * (5 + 4 * 3)


def test_planted_events_are_reproducible():
    pd.testing.assert_frame_equal(planted_events(3), planted_events(3))
