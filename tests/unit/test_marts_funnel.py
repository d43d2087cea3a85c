"""mart_daily_funnel and mart_period_summary on DuckDB against hand-computed rows.

The store (test_warehouse_lake.STORE_DAYS) is drawn out event by event there; each expected
figure below shows the events or sessions it counts.
"""

from __future__ import annotations

import datetime as dt

import pytest

from test_warehouse_lake import rows_of

from shopflow.marts import build_marts

COUNTS = (
    "n_events", "n_views", "n_carts", "n_removes", "n_purchases", "n_users", "n_sessions",
    "n_viewing_sessions", "n_carting_sessions", "n_purchasing_sessions", "n_abandoned_cart_sessions",
    "n_purchasing_users",
)
RATES = (
    "conversion_rate_events", "conversion_rate_views", "conversion_rate_sessions",
    "cart_abandonment_rate", "view_to_cart_rate", "cart_to_purchase_rate",
)


def funnel(wh, scope):
    return wh.query(
        "select * from mart_daily_funnel where scope = @scope order by event_date", {"scope": scope}
    )


def test_daily_funnel_counts_all_events(store):
    got = funnel(store, "all")
    assert rows_of(got, ("event_date", "event_weekday", "is_weekend", *COUNTS)) == [
        # 11-01: e1..e7. views e1 e4 e5 e7; carts e2 e6; purchase e3; users 1 2 3; sessions
        # s1 s2 s3 all with a view; carting s1 s2; purchasing s1; s2 carted without buying.
        ("2019-11-01", 5, False, 7, 4, 2, 0, 1, 3, 3, 3, 2, 1, 1, 1),
        # 11-02: e8..e13. view e9; cart e10; remove e11; purchases e8 e12 e13; users 3 4 2;
        # sessions s3 s4 s5, only s4 views or carts (and does not buy); s3 and s5 purchase.
        ("2019-11-02", 6, True, 6, 1, 1, 1, 3, 3, 3, 1, 1, 2, 1, 2),
        # 11-03: e14..e16, no purchase: views e14 e15; cart e16; users 1 4; sessions s6 s7.
        ("2019-11-03", 7, True, 3, 2, 1, 0, 0, 2, 2, 2, 1, 0, 1, 0),
    ]
    # revenue: 11-01 e3 = 1000.00; 11-02 e8 + e12 + e13 = 1000.00 + 50.25 + 300.50; 11-03 none.
    assert got["revenue"].tolist() == [1000.0, 1350.75, 0.0]


def test_daily_funnel_rates_follow_their_definitions(store):
    got = funnel(store, "all")
    expected = [
        # purchases/events, purchases/views, viewing sessions that purchased / viewing
        # sessions, abandoned/carting sessions, carts/views, purchases/carts
        (1 / 7, 1 / 4, 1 / 3, 1 / 2, 2 / 4, 1 / 2),
        # 11-02: s3 and s5 buy without viewing that day; the one viewing session, s4, does not
        # buy: 0 / 1 (before issue 11 it was purchasing / viewing sessions = 2 / 1).
        (3 / 6, 3 / 1, 0 / 1, 1 / 1, 1 / 1, 3 / 1),
        # The purchase-free day converts at 0, not null.
        (0 / 3, 0 / 2, 0 / 2, 1 / 1, 1 / 2, 0 / 1),
    ]
    for row, want in zip(rows_of(got, RATES), expected):
        assert row == pytest.approx(want)


def test_daily_funnel_reference_filter_drops_rows_without_category_or_brand(store):
    got = funnel(store, "reference_filter")
    assert rows_of(got, ("event_date", *COUNTS)) == [
        # e1 e2 e3 e7 (e4 has no brand, e5 e6 no category_code): sessions s1 s3, users 1 3.
        ("2019-11-01", 4, 2, 1, 0, 1, 2, 2, 2, 1, 1, 0, 1),
        # e8 e9 e10 e11 (e12, e13 dropped): sessions s3 s4; s3 buys, s4 abandons its cart.
        ("2019-11-02", 4, 1, 1, 1, 1, 2, 2, 1, 1, 1, 1, 1),
        # every row of the 3rd is kept
        ("2019-11-03", 3, 2, 1, 0, 0, 2, 2, 2, 1, 0, 1, 0),
    ]
    assert got["revenue"].tolist() == [1000.0, 1000.0, 0.0]
    assert rows_of(got, RATES)[0] == pytest.approx((1 / 4, 1 / 2, 1 / 2, 0 / 1, 1 / 2, 1 / 1))


def test_period_summary_counts_users_and_sessions_once(store):
    got = store.query("select * from mart_period_summary order by scope")
    assert rows_of(got, ("as_of_date", "window_start_date", "scope", "n_days_loaded", *COUNTS)) == [
        # all: 16 events; views 4+1+2, carts 2+1+1, remove 1, purchases 1+3+0; users 1..4;
        # sessions s1..s7 (s3 spans two dates, counted once); viewing: all but s5; carting
        # s1 s2 s4 s7; purchasing s1 s3 s5; abandoned s2 s4 s7; buyers 1 2 3.
        ("2019-11-03", "2019-11-01", "all", 3, 16, 7, 4, 1, 4, 4, 7, 6, 4, 3, 3, 3),
        # reference rows: e1 e2 e3 e7 e8 e9 e10 e11 e14 e15 e16; users 1 3 4; sessions
        # s1 s3 s4 s6 s7, all viewing; carting s1 s4 s7; purchasing s1 s3; buyers 1 3.
        ("2019-11-03", "2019-11-01", "reference_filter", 3, 11, 5, 3, 1, 2, 3, 5, 5, 3, 2, 2, 2),
    ]
    # 1000 + 1000 + 50.25 + 300.50 and 1000 + 1000
    assert got["revenue"].tolist() == [2350.75, 2000.0]
    # viewing sessions that purchased in the window: s1 and s3 (viewed on 11-01, bought on 11-02);
    # s5 bought without a view: 2 of the 6 viewing sessions
    assert rows_of(got, RATES) == [
        pytest.approx((4 / 16, 4 / 7, 2 / 6, 3 / 4, 4 / 7, 4 / 4)),
        pytest.approx((2 / 11, 2 / 5, 2 / 5, 2 / 3, 3 / 5, 2 / 3)),
    ]


def test_period_summary_window_ends_on_the_run_date(store):
    # A one-day window on 11-02 sees e8..e13 only: the same figures as that day's funnel.
    build_marts(store, dt.date(2019, 11, 2), window_days=1)
    got = store.query("select * from mart_period_summary where as_of_date = date '2019-11-02' and scope = 'all'")
    assert rows_of(got, ("window_start_date", "n_days_loaded", "n_events", "n_purchases", "n_sessions")) == [
        ("2019-11-02", 1, 6, 3, 3)
    ]
    # The 11-03 snapshot of the first build is still there.
    assert store.query("select count(*) as n from mart_period_summary")["n"].tolist() == [4]
