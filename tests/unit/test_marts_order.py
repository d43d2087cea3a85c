"""Marts are pure functions of events: reruns replace, and load order does not matter."""

from __future__ import annotations

import datetime as dt

from test_marts_rfm import rfm_days
from test_warehouse_lake import STORE_DAYS, load_days, snapshot, write_partition

from shopflow.config import get_settings
from shopflow.marts import MODELS, build_marts
from shopflow.warehouse.duckdb import DuckDBWarehouse

TABLES = [m for m in MODELS if m != "stg_events"] + ["events", "manifests", "manifest_quarantine"]  # stg_events is a view


def all_days():
    days = {d: list(rows) for d, rows in rfm_days().items()}
    for day, rows in STORE_DAYS.items():
        days.setdefault(day, []).extend(rows)
    return dict(sorted(days.items()))


def build(path, lake, order, runs):
    wh = DuckDBWarehouse(get_settings(), path=path)
    for day in order:
        wh.load_events_partition(dt.date.fromisoformat(day), str(lake))
    for run_date, window in runs:
        build_marts(wh, run_date, window_days=window)
    return wh


def test_any_load_order_and_reruns_give_the_same_warehouse(tmp_path):
    days = all_days()
    lake = tmp_path / "lake"
    for day, rows in days.items():
        write_partition(lake, day, rows)
    forward = sorted(days)
    runs = [(dt.date(2019, 11, 3), 3), (dt.date(2019, 11, 11), 11)]

    first = build(tmp_path / "a.duckdb", lake, forward, runs)
    # reversed, with two dates loaded twice and the marts of one date built twice, out of order
    second = build(
        tmp_path / "b.duckdb", lake, forward[::-1] + ["2019-11-02", "2019-11-07"],
        [runs[1], runs[0], runs[1]],
    )
    try:
        # both as-of snapshots are kept side by side
        assert set(snapshot(first, "mart_rfm")["as_of_date"].dt.day) == {3, 11}
        for table in TABLES:
            a, b = snapshot(first, table), snapshot(second, table)
            assert len(a) > 0, table
            assert a.equals(b), table
    finally:
        first.close()
        second.close()


def test_history_marts_cover_every_loaded_date_whatever_the_run_date(tmp_path):
    lake = tmp_path / "lake"
    wh = DuckDBWarehouse(get_settings(), path=tmp_path / "w.duckdb")
    try:
        load_days(wh, lake, STORE_DAYS, order=["2019-11-03", "2019-11-01"])
        build_marts(wh, dt.date(2019, 11, 1), window_days=1)

        def dates():
            sql = "select distinct cast(event_date as string) as d from mart_daily_funnel order by d"
            return wh.query(sql)["d"].tolist()

        assert dates() == ["2019-11-01", "2019-11-03"]
        # a late date: the next run of any date picks it up
        wh.load_events_partition(dt.date(2019, 11, 2), str(lake))
        build_marts(wh, dt.date(2019, 11, 1), window_days=1)
        assert dates() == ["2019-11-01", "2019-11-02", "2019-11-03"]
        hourly = wh.query("select distinct cast(event_date as string) as d from mart_hourly_activity order by d")
        assert hourly["d"].tolist() == ["2019-11-01", "2019-11-02", "2019-11-03"]
    finally:
        wh.close()


def test_daily_runs_newest_first_end_like_oldest_first(tmp_path):
    """Each run loads its date and builds its marts: the 11-03 snapshot built first (seeing only
    the 3rd) must be rebuilt when the 1st and 2nd arrive."""
    lake = tmp_path / "lake"
    for day, rows in STORE_DAYS.items():
        write_partition(lake, day, rows)

    def daily(path, order):
        wh = DuckDBWarehouse(get_settings(), path=path)
        for day in order:
            wh.load_events_partition(dt.date.fromisoformat(day), str(lake))
            build_marts(wh, dt.date.fromisoformat(day), window_days=3)
        return wh

    forward = daily(tmp_path / "f.duckdb", sorted(STORE_DAYS))
    backward = daily(tmp_path / "b.duckdb", sorted(STORE_DAYS, reverse=True))
    try:
        for table in TABLES + ["mart_snapshots"]:
            assert snapshot(forward, table).equals(snapshot(backward, table)), table
        # the 11-03 snapshot covers all 16 events of the store (e1..e16)
        got = forward.query("select n_events from mart_period_summary where as_of_date = date '2019-11-03' and scope = 'all'")
        assert got["n_events"].tolist() == [16]
        kept = forward.query("select cast(as_of_date as string) as d, window_days from mart_snapshots order by d")
        assert [tuple(r) for r in kept.itertuples(index=False)] == [("2019-11-01", 3), ("2019-11-02", 3), ("2019-11-03", 3)]
    finally:
        forward.close()
        backward.close()


def test_reloading_a_date_rebuilds_the_snapshots_that_include_it(tmp_path):
    lake = tmp_path / "lake"
    wh = DuckDBWarehouse(get_settings(), path=tmp_path / "w.duckdb")
    try:
        load_days(wh, lake, STORE_DAYS)
        build_marts(wh, dt.date(2019, 11, 2), window_days=2)  # 11-01 .. 11-02
        build_marts(wh, dt.date(2019, 11, 3), window_days=1)  # 11-03 only
        # the cleaning job reruns the 1st and keeps only its first two events (e1, e2)
        write_partition(lake, "2019-11-01", STORE_DAYS["2019-11-01"][:2])
        wh.load_events_partition(dt.date(2019, 11, 1), str(lake))
        build_marts(wh, dt.date(2019, 11, 3), window_days=1)
        got = wh.query("select cast(as_of_date as string) as d, n_events from mart_period_summary where scope = 'all' order by d")
        # 11-02 snapshot: e1 e2 + the 2nd's six events = 8 (it was 7 + 6 = 13); 11-03: e14..e16
        assert [tuple(r) for r in got.itertuples(index=False)] == [("2019-11-02", 8), ("2019-11-03", 3)]
    finally:
        wh.close()
