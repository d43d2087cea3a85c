"""mart_top_items on DuckDB against hand-computed rows."""

from __future__ import annotations

import datetime as dt

import pytest

from test_warehouse_lake import ev, load_days, rows_of

from shopflow.marts import build_marts

RANKED = ("event_type", "item_rank", "item", "n_events", "n_type_events", "n_known_events")
SHARES = ("share_of_events", "share_of_known_events", "cumulative_share_of_events")


def top(wh, scope, dimension):
    return wh.query(
        "select * from mart_top_items where scope = @scope and dimension = @dimension "
        "order by event_type, item_rank",
        {"scope": scope, "dimension": dimension},
    )


def test_top_brands_rank_known_brands_and_share_all_events(store):
    got = top(store, "all", "brand")
    assert rows_of(got, RANKED) == [
        # carts e2 apple, e6 samsung, e10 e16 sony: the apple/samsung tie ranks by name
        ("cart", 1, "sony", 2, 4, 4),
        ("cart", 2, "apple", 1, 4, 4),
        ("cart", 3, "samsung", 1, 4, 4),
        # purchases e3 e8 apple, e12 samsung, e13 (no brand) stays in the total of 4
        ("purchase", 1, "apple", 2, 4, 3),
        ("purchase", 2, "samsung", 1, 4, 3),
        ("remove_from_cart", 1, "sony", 1, 1, 1),
        # views e1 e7 e14 apple, e9 e15 sony, e5 samsung, e4 no brand
        ("view", 1, "apple", 3, 7, 6),
        ("view", 2, "sony", 2, 7, 6),
        ("view", 3, "samsung", 1, 7, 6),
    ]
    assert rows_of(got, SHARES) == [
        pytest.approx(v)
        for v in [
            (2 / 4, 2 / 4, 2 / 4), (1 / 4, 1 / 4, 3 / 4), (1 / 4, 1 / 4, 4 / 4),
            (2 / 4, 2 / 3, 2 / 4), (1 / 4, 1 / 3, 3 / 4),
            (1, 1, 1),
            (3 / 7, 3 / 6, 3 / 7), (2 / 7, 2 / 6, 5 / 7), (1 / 7, 1 / 6, 6 / 7),
        ]
    ]
    assert set(got["as_of_date"].dt.strftime("%Y-%m-%d")) == {"2019-11-03"}
    assert set(got["window_start_date"].dt.strftime("%Y-%m-%d")) == {"2019-11-01"}


def test_top_categories_and_the_taxonomy_levels(store):
    got = top(store, "all", "category")
    assert rows_of(got, RANKED) == [
        ("cart", 1, "electronics", 3, 4, 3),  # e2 e10 e16; e6 has no category
        ("purchase", 1, "electronics", 2, 4, 3),  # e3 e8
        ("purchase", 2, "appliances", 1, 4, 3),  # e13; e12 has no category
        ("remove_from_cart", 1, "electronics", 1, 1, 1),
        ("view", 1, "electronics", 5, 7, 6),  # e1 e7 e9 e14 e15
        ("view", 2, "appliances", 1, 7, 6),  # e4
    ]
    views = lambda dim: rows_of(top(store, "all", dim).query("event_type == 'view'"), ("item", "n_events"))  # noqa: E731
    # second level of electronics.smartphone / electronics.audio.headphone / appliances.kitchen.washer
    assert views("sub_category") == [("smartphone", 3), ("audio", 2), ("kitchen", 1)]
    # last level
    assert views("product") == [("smartphone", 3), ("headphone", 2), ("washer", 1)]


def test_top_products_carry_their_brand_and_category(store):
    got = top(store, "all", "product_id").query("event_type == 'view'")
    assert rows_of(got, ("item_rank", "item", "item_brand", "item_category_code", "n_events")) == [
        (1, "100", "apple", "electronics.smartphone", 3),  # e1 e7 e14
        (2, "400", "sony", "electronics.audio.headphone", 2),  # e9 e15
        (3, "200", None, "appliances.kitchen.washer", 1),  # e4; the 200/300 tie ranks by id
        (4, "300", "samsung", None, 1),  # e5
    ]


def test_reference_filter_top_brands(store):
    got = top(store, "reference_filter", "brand")
    assert rows_of(got, RANKED) == [
        ("cart", 1, "sony", 2, 3, 3),  # e10 e16
        ("cart", 2, "apple", 1, 3, 3),  # e2; e6 (samsung) has no category_code
        ("purchase", 1, "apple", 2, 2, 2),  # e3 e8
        ("remove_from_cart", 1, "sony", 1, 1, 1),
        ("view", 1, "apple", 3, 5, 5),  # e1 e7 e14
        ("view", 2, "sony", 2, 5, 5),  # e9 e15
    ]


def test_only_ten_items_per_list_and_the_window_bounds(duck):
    wh, lake = duck
    # 12 products viewed on the 2nd: product p viewed p times; one product on the 1st, outside
    # a one-day window ending on the 2nd.
    day2 = [ev("2019-11-02 10:00:00", "view", p, p * 100 + i, f"s{p}-{i}") for p in range(1, 13) for i in range(p)]
    days = {"2019-11-01": [ev("2019-11-01 10:00:00", "view", 99, 1, "x")], "2019-11-02": day2}
    load_days(wh, lake, days)
    build_marts(wh, dt.date(2019, 11, 2), window_days=1)
    got = top(wh, "all", "product_id")
    # products 12 down to 3; 1 + 2 + ... + 12 = 78 views in the window
    assert rows_of(got, ("item_rank", "item", "n_events", "n_type_events")) == [
        (r, str(13 - r), 13 - r, 78) for r in range(1, 11)
    ]
    # 12 + 11 + ... + 3 = 75 of 78
    assert got["cumulative_share_of_events"].iloc[-1] == pytest.approx(75 / 78)


def test_ties_at_the_tenth_place_rank_by_item(duck):
    """Only items with at least the 10th item's events are ranked (rank_floors): products 1..9
    viewed 3 times, 10..14 twice (five tied for 10th place), 15 once. The 10th is product 10,
    the first of the tied ones by item; product 15 is left out."""
    wh, lake = duck
    counts = {p: 3 for p in range(1, 10)} | {p: 2 for p in range(10, 15)} | {15: 1}
    day = [ev("2019-11-02 10:00:00", "view", p, p * 100 + i, f"s{p}-{i}") for p, n in counts.items() for i in range(n)]
    load_days(wh, lake, {"2019-11-02": day})
    build_marts(wh, dt.date(2019, 11, 2), window_days=1)
    got = top(wh, "all", "product_id")
    assert rows_of(got, ("item_rank", "item", "n_events")) == [(p, str(p), 3) for p in range(1, 10)] + [(10, "10", 2)]
    assert got["cumulative_share_of_events"].iloc[-1] == pytest.approx(29 / 38)  # 9 * 3 + 2 of 27 + 10 + 1
