"""The correctness fixes of issue 11, against values worked out by hand (each failed before).

2019-11-05, window 1 day: six purchasers, one session each with a view and a purchase, so
recency is 0 and frequency 1 for all of them; monetary 1.10 1.30 1.70 1.90 2.10 and 1.30.
Equal-width bins of [1.10, 2.10] (w = 0.20, edges 1.30 1.50 1.70 1.90; an edge value goes up):
1.10 -> 1, 1.30 -> 2, 1.70 -> 4, 1.90 -> 5, 2.10 -> 5 (max). In floating point the runner before
dbt computed 5 * (1.30 - 1.10) / (2.10 - 1.10) = 0.9999999999999998 and put 1.30, 1.70, 1.90 in
bins 1, 3, 4.
Quintiles: NTILE(5) over 6 users makes tiles of 2, 1, 1, 1, 1. By monetary then user_id: u1 1.10
-> 1, u2 1.30 -> 1, u6 1.30 -> 2, u3 1.70 -> 3, u4 1.90 -> 4, u5 2.10 -> 5; equal values take the
lowest tile of their group, so u6 scores 1 like u2. Recency (all 0) and frequency (all 1) tie for
everyone: every R and F quintile score is 1 (before: 1 1 2 3 4 5 by user_id).

2019-11-04: sessions s10 view + purchase, s11 purchase only, s12 purchase only, s13 view only.
Viewing sessions 2, of which 1 purchased: conversion_rate_sessions = 1 / 2 = 0.5 (before:
3 purchasing sessions / 2 viewing = 1.5). Purchasing sessions stay 3.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from test_warehouse_lake import ev, load_days, rows_of

from shopflow.marts import build_marts

MONETARY = {1: 1.10, 2: 1.30, 3: 1.70, 4: 1.90, 5: 2.10, 6: 1.30}


def fix_days():
    day5 = []
    for user, price in MONETARY.items():
        day5.append(ev("2019-11-05 10:00:00", "view", 1, user, f"s{user}", price=price))
        day5.append(ev("2019-11-05 10:05:00", "purchase", 1, user, f"s{user}", price=price))
    day4 = [
        ev("2019-11-04 09:00:00", "view", 1, 10, "s10"),
        ev("2019-11-04 09:01:00", "purchase", 1, 10, "s10"),
        ev("2019-11-04 09:02:00", "purchase", 1, 11, "s11"),
        ev("2019-11-04 09:03:00", "purchase", 1, 12, "s12"),
        ev("2019-11-04 09:04:00", "view", 1, 13, "s13"),
    ]
    return {"2019-11-04": day4, "2019-11-05": day5}


@pytest.fixture(scope="module")
def fixed(tmp_path_factory):
    from shopflow.config import get_settings
    from shopflow.warehouse.duckdb import DuckDBWarehouse

    root = tmp_path_factory.mktemp("fixes")
    wh = DuckDBWarehouse(get_settings(), path=root / "warehouse.duckdb")
    load_days(wh, root / "lake", fix_days())
    build_marts(wh, dt.date(2019, 11, 5), window_days=1)
    yield wh
    wh.close()


def test_equal_width_bins_put_inner_edge_values_in_the_upper_bin(fixed):
    got = fixed.query("select * from mart_rfm order by user_id")
    assert rows_of(got, ("user_id", "monetary", "m_score_equal_width", "r_score_equal_width", "f_score_equal_width")) == [
        (1, 1.10, 1, 5, 1), (2, 1.30, 2, 5, 1), (3, 1.70, 4, 5, 1), (4, 1.90, 5, 5, 1), (5, 2.10, 5, 5, 1),
        (6, 1.30, 2, 5, 1),
    ]


def test_equal_values_get_equal_quintile_scores(fixed):
    got = fixed.query("select * from mart_rfm order by user_id")
    assert rows_of(got, ("user_id", "r_score_quintile", "f_score_quintile", "m_score_quintile", "rfm_cell")) == [
        (1, 1, 1, 1, "111"), (2, 1, 1, 1, "111"), (3, 1, 1, 3, "113"), (4, 1, 1, 4, "114"), (5, 1, 1, 5, "115"),
        (6, 1, 1, 1, "111"),
    ]


def test_session_conversion_counts_viewing_sessions_that_purchased(fixed):
    got = fixed.query("select * from mart_daily_funnel where scope = 'all' and event_date = date '2019-11-04'")
    assert rows_of(got, ("n_sessions", "n_viewing_sessions", "n_purchasing_sessions", "conversion_rate_sessions")) == [
        (4, 2, 3, 0.5)
    ]


def test_the_six_rates_are_defined_once():
    sql = Path(__file__).resolve().parents[2] / "sql"
    rates = ("conversion_rate_events", "conversion_rate_views", "conversion_rate_sessions",
             "cart_abandonment_rate", "view_to_cart_rate", "cart_to_purchase_rate")
    defining = {p.relative_to(sql).as_posix() for p in list((sql / "models").rglob("*.sql")) + list((sql / "macros").rglob("*.sql"))
                if any(f"as {r}" in p.read_text() for r in rates)}
    assert defining == {"macros/funnel.sql"}
    for model in ("mart_daily_funnel", "mart_period_summary"):
        assert "funnel_columns()" in (sql / "models" / "marts" / f"{model}.sql").read_text()
