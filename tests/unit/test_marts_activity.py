"""mart_hourly_activity and mart_weekday_activity on DuckDB against hand-computed rows."""

from __future__ import annotations

import datetime as dt

import pytest

from test_warehouse_lake import ev, load_days, rows_of

from shopflow.marts import build_marts

HOURLY = ("event_date", "event_hour", "event_weekday", "is_weekend", "event_type", "n_events", "revenue")


def test_hourly_activity_all_events(store):
    got = store.query(
        "select * from mart_hourly_activity where scope = 'all' order by event_date, event_hour, event_type"
    )
    assert rows_of(got, HOURLY) == [
        ("2019-11-01", 8, 5, False, "cart", 1, 0.0),  # e2
        ("2019-11-01", 8, 5, False, "purchase", 1, 1000.0),  # e3
        ("2019-11-01", 8, 5, False, "view", 1, 0.0),  # e1
        ("2019-11-01", 9, 5, False, "cart", 1, 0.0),  # e6
        ("2019-11-01", 9, 5, False, "view", 2, 0.0),  # e4 e5
        ("2019-11-01", 23, 5, False, "view", 1, 0.0),  # e7 at 23:59:59 UTC
        ("2019-11-02", 0, 6, True, "purchase", 1, 1000.0),  # e8 at 00:00:10 UTC
        ("2019-11-02", 10, 6, True, "cart", 1, 0.0),  # e10
        ("2019-11-02", 10, 6, True, "purchase", 2, 350.75),  # e12 + e13 = 50.25 + 300.50
        ("2019-11-02", 10, 6, True, "remove_from_cart", 1, 0.0),  # e11
        ("2019-11-02", 10, 6, True, "view", 1, 0.0),  # e9
        ("2019-11-03", 12, 7, True, "view", 2, 0.0),  # e14 e15
        ("2019-11-03", 13, 7, True, "cart", 1, 0.0),  # e16
    ]


def test_hourly_activity_reference_filter(store):
    got = store.query(
        "select * from mart_hourly_activity where scope = 'reference_filter' "
        "order by event_date, event_hour, event_type"
    )
    assert rows_of(got, HOURLY) == [
        ("2019-11-01", 8, 5, False, "cart", 1, 0.0),
        ("2019-11-01", 8, 5, False, "purchase", 1, 1000.0),
        ("2019-11-01", 8, 5, False, "view", 1, 0.0),
        # hour 9 of the 1st has only e4 (no brand), e5 and e6 (no category): no rows
        ("2019-11-01", 23, 5, False, "view", 1, 0.0),
        ("2019-11-02", 0, 6, True, "purchase", 1, 1000.0),
        ("2019-11-02", 10, 6, True, "cart", 1, 0.0),
        # the purchases e12 and e13 at 10:00 have no category / no brand
        ("2019-11-02", 10, 6, True, "remove_from_cart", 1, 0.0),
        ("2019-11-02", 10, 6, True, "view", 1, 0.0),
        ("2019-11-03", 12, 7, True, "view", 2, 0.0),
        ("2019-11-03", 13, 7, True, "cart", 1, 0.0),
    ]


def test_weekday_activity_of_the_store(store):
    got = store.query(
        "select * from mart_weekday_activity where scope = 'all' order by event_weekday, event_type"
    )
    cols = ("event_weekday", "weekday_name", "is_weekend", "event_type", "n_days", "n_events", "revenue")
    assert rows_of(got, cols) == [
        (5, "Friday", False, "cart", 1, 2, 0.0),
        (5, "Friday", False, "purchase", 1, 1, 1000.0),
        (5, "Friday", False, "view", 1, 4, 0.0),
        (6, "Saturday", True, "cart", 1, 1, 0.0),
        (6, "Saturday", True, "purchase", 1, 3, 1350.75),
        (6, "Saturday", True, "remove_from_cart", 1, 1, 0.0),
        (6, "Saturday", True, "view", 1, 1, 0.0),
        (7, "Sunday", True, "cart", 1, 1, 0.0),
        (7, "Sunday", True, "view", 1, 2, 0.0),
    ]
    # shares of each type's total: carts 2/4 1/4 1/4, purchases 1/4 3/4, views 4/7 1/7 2/7
    assert got["share_of_type_events"].tolist() == pytest.approx(
        [2 / 4, 1 / 4, 4 / 7, 1 / 4, 3 / 4, 1 / 1, 1 / 7, 1 / 4, 2 / 7]
    )


def test_weekday_activity_averages_over_the_dates_of_each_weekday(duck):
    wh, lake = duck
    days = {
        # two Fridays (the 1st and the 8th) and one Saturday
        "2019-11-01": [ev(f"2019-11-01 10:00:0{i}", "view", 1, 1, "a") for i in range(3)],
        "2019-11-02": [ev("2019-11-02 10:00:00", "view", 1, 1, "b"), ev("2019-11-02 11:00:00", "view", 1, 2, "c")],
        "2019-11-08": [ev("2019-11-08 10:00:00", "view", 1, 1, "d")],
    }
    load_days(wh, lake, days, order=["2019-11-08", "2019-11-01", "2019-11-02"])
    build_marts(wh, dt.date(2019, 11, 8), window_days=8)
    got = wh.query("select * from mart_weekday_activity where scope = 'all' order by event_weekday")
    assert rows_of(got, ("weekday_name", "n_days", "n_events", "avg_events_per_day")) == [
        ("Friday", 2, 4, 2.0),  # (3 + 1) views over 2 Fridays
        ("Saturday", 1, 2, 2.0),
    ]
    assert got["share_of_type_events"].tolist() == pytest.approx([4 / 6, 2 / 6])
