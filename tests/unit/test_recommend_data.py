"""Interaction matrices, id maps and the two splitting protocols."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from shopflow.recommend.data import (
    IdMap,
    InteractionDataError,
    build_interactions,
    pair_signals,
    parse_weights,
)
from shopflow.recommend.evaluation import random_split, temporal_split

D = dt.date(2019, 11, 1)


def _events(rows):
    return pd.DataFrame(rows, columns=["user_id", "product_id", "event_type", "event_date"])


def test_id_map_is_sorted_and_marks_unknown_ids():
    m = IdMap.from_values([30, 10, 20, 10])
    np.testing.assert_array_equal(m.ids, [10, 20, 30])
    np.testing.assert_array_equal(m.index([20, 99, 10, 5]), [1, -1, 0, -1])
    assert 30 in m and 31 not in m
    assert m.lookup(31) is None
    np.testing.assert_array_equal(IdMap.from_values([]).index([1]), [-1])


def test_id_map_does_not_depend_on_row_order():
    a = build_interactions(_events([(2, 7, "purchase", D), (1, 9, "purchase", D)]))
    b = build_interactions(_events([(1, 9, "purchase", D), (2, 7, "purchase", D)]))
    assert (a.matrix != b.matrix).nnz == 0
    np.testing.assert_array_equal(a.users.ids, [1, 2])


def test_parse_weights():
    assert parse_weights(None) == {"purchase": 1.0}
    assert parse_weights("purchase=1,view=0.1,cart=0") == {"view": 0.1, "purchase": 1.0}
    with pytest.raises(InteractionDataError, match="unknown event types"):
        parse_weights({"click": 1})
    with pytest.raises(InteractionDataError, match="at least one"):
        parse_weights("view=0")
    with pytest.raises(InteractionDataError, match=">= 0"):
        parse_weights("view=-1")
    with pytest.raises(InteractionDataError, match="not a number"):
        parse_weights("view=x")


def test_pair_signal_counts_each_event_type_once_per_pair():
    ev = _events([
        (1, 5, "view", D), (1, 5, "view", D), (1, 5, "view", D), (1, 5, "purchase", D),
        (1, 6, "cart", D), (2, 5, "remove_from_cart", D),
    ])
    out = pair_signals(ev, {"view": 0.1, "cart": 0.5, "purchase": 1.0})
    # (1,5): 0.1 (three views count once) + 1.0; (1,6): 0.5; remove_from_cart has no weight
    assert out.to_dict("records") == [
        {"user_id": 1, "product_id": 5, "value": pytest.approx(1.1)},
        {"user_id": 1, "product_id": 6, "value": pytest.approx(0.5)},
    ]


def test_build_interactions_purchases_only_is_the_reference_matrix():
    ev = _events([(1, 5, "purchase", D), (1, 5, "purchase", D), (1, 6, "view", D), (2, 6, "purchase", D)])
    data = build_interactions(ev)
    # users {1, 2} x items {5, 6}; the view of 6 by user 1 is not a signal with purchase weights
    np.testing.assert_array_equal(data.matrix.toarray(), [[1, 0], [0, 1]])
    np.testing.assert_array_equal(data.purchases.toarray(), [[1, 0], [0, 1]])
    assert data.counts() == {"n_users": 2, "n_items": 2, "n_pairs": 2, "n_purchase_pairs": 2, "sparsity": 0.5}


def test_bad_events_give_clear_errors():
    with pytest.raises(InteractionDataError, match="null user_id"):
        build_interactions(_events([(None, 5, "purchase", D)]))
    with pytest.raises(InteractionDataError, match="unknown event types"):
        build_interactions(_events([(1, 5, "click", D)]))
    with pytest.raises(InteractionDataError, match="lacks columns"):
        build_interactions(pd.DataFrame({"user_id": [1]}))


def test_random_split_holds_out_the_fraction_and_loses_nothing():
    rng = np.random.default_rng(0)
    ev = _events([(int(u), int(i), "purchase", D) for u, i in
                  {(u, i) for u, i in zip(rng.integers(0, 50, 400), rng.integers(0, 40, 400))}])
    data = build_interactions(ev)
    split = random_split(data, 0.2, seed=7)
    n = data.purchases.nnz
    assert split.test.nnz == round(0.2 * n)
    # disjoint, and together exactly the original pairs
    assert split.train.purchases.multiply(split.test).nnz == 0
    assert ((split.train.purchases + split.test) != data.purchases).nnz == 0
    again = random_split(data, 0.2, seed=7)
    assert (again.test != split.test).nnz == 0
    other = random_split(data, 0.2, seed=8)
    assert (other.test != split.test).nnz > 0


def test_random_split_removes_the_held_out_pairs_view_signal_too():
    ev = _events([(1, 5, "view", D), (1, 5, "purchase", D), (1, 6, "view", D)])
    data = build_interactions(ev, {"view": 0.1, "purchase": 1.0})
    split = random_split(data, 0.9, seed=0)  # round(0.9 * 1 purchase pair) = 1 held out
    np.testing.assert_array_equal(split.test.toarray(), [[1, 0]])
    # item 5's whole signal (view + purchase) left the training matrix; item 6's view stays
    np.testing.assert_allclose(split.train.matrix.toarray(), [[0.0, 0.1]], rtol=1e-6)
    assert split.train.purchases.nnz == 0


def test_temporal_split_counts_what_it_leaves_out():
    d = [D + dt.timedelta(days=i) for i in range(7)]
    ev = _events([
        (1, 10, "purchase", d[1]), (2, 10, "purchase", d[2]), (2, 11, "purchase", d[3]),  # train
        (1, 11, "purchase", d[4]),                       # warm user and item: the one test pair
        (1, 11, "purchase", d[6]),                       # same pair again: counted once
        (2, 10, "purchase", d[5]),                       # repeat purchase of a bought item
        (3, 10, "purchase", d[4]),                       # cold user
        (1, 12, "purchase", d[6]),                       # cold item
        (1, 12, "view", d[5]),                           # views after the cutoff are not test pairs
    ])
    split = temporal_split(ev, cutoff=d[4])
    assert split.info == {
        "cutoff": "2019-11-05",
        "test_pairs_total": 4,
        "cold_user_pairs": 1,
        "cold_item_pairs": 1,
        "repeat_pairs": 1,
        "test_pairs": 1,
        "train_pairs": 3,
    }
    np.testing.assert_array_equal(split.train.users.ids, [1, 2])
    np.testing.assert_array_equal(split.train.items.ids, [10, 11])
    np.testing.assert_array_equal(split.test.toarray(), [[0, 1], [0, 0]])


def test_temporal_split_tests_returning_customers_whatever_the_weights():
    d = [D + dt.timedelta(days=i) for i in range(3)]
    ev = _events([
        (1, 10, "purchase", d[0]), (2, 11, "view", d[0]),  # user 2 only viewed before the cutoff
        (1, 11, "purchase", d[2]), (2, 10, "purchase", d[2]),
    ])
    with_views = temporal_split(ev, cutoff=d[1], weights={"view": 0.1, "purchase": 1.0})
    assert 2 in with_views.train.users  # in the matrix through the view ...
    assert (with_views.info["cold_user_pairs"], with_views.info["test_pairs"]) == (1, 1)  # ... not tested
    np.testing.assert_array_equal(with_views.test.toarray(), [[0, 1], [0, 0]])


def test_temporal_split_needs_training_days():
    ev = _events([(1, 10, "purchase", D)])
    with pytest.raises(ValueError, match="no events before the cutoff"):
        temporal_split(ev, cutoff=D)
