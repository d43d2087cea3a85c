"""Incremental runs replace only what they touch, and --full-refresh gives the same tables.

The store of test_warehouse_lake (2019-11-01..03), window 2 days. The daily runs replace one
event date each: the rows of other dates must stay as they were (checked by planting a marker
in 11-01's funnel row, which only a rebuild of 11-01 would erase).
"""

from __future__ import annotations

import datetime as dt

from test_warehouse_lake import STORE_DAYS, load_days, snapshot, write_partition, ev

from shopflow.config import get_settings
from shopflow.marts import MODELS, build_marts, plan_marts
from shopflow.warehouse.duckdb import DuckDBWarehouse

TABLES = [m for m in MODELS if m != "stg_events"]
D1, D2, D3 = dt.date(2019, 11, 1), dt.date(2019, 11, 2), dt.date(2019, 11, 3)


def test_daily_runs_touch_one_date_and_full_refresh_gives_the_same_tables(tmp_path):
    wh = DuckDBWarehouse(get_settings(), path=tmp_path / "warehouse.duckdb")
    lake = tmp_path / "lake"
    load_days(wh, lake, STORE_DAYS)
    build_marts(wh, D1, window_days=2)  # the first run builds every loaded date
    assert plan_marts(wh, D2, window_days=2).event_dates == [D2]
    wh.query("select 1")  # connection is back after dbt
    wh._con.execute("update mart_daily_funnel set n_removes = 99 where event_date = date '2019-11-01' and scope = 'all'")
    build_marts(wh, D2, window_days=2)
    build_marts(wh, D3, window_days=2)
    marker = wh.query("select n_removes from mart_daily_funnel where event_date = date '2019-11-01' and scope = 'all'")
    assert marker["n_removes"].tolist() == [99]  # 11-01 was not rebuilt by the runs of 11-02 and 11-03
    wh._con.execute("update mart_daily_funnel set n_removes = 0 where event_date = date '2019-11-01' and scope = 'all'")
    incremental = {t: snapshot(wh, t) for t in TABLES}
    assert sorted(incremental["mart_period_summary"]["as_of_date"].dt.strftime("%Y-%m-%d").unique()) == [
        "2019-11-01", "2019-11-02", "2019-11-03"]

    build_marts(wh, D3, window_days=2, full_refresh=True)
    for t in TABLES:
        assert snapshot(wh, t).equals(incremental[t]), t
    wh.close()


def test_a_reloaded_date_rebuilds_its_rows_and_the_snapshots_that_include_it(tmp_path):
    wh = DuckDBWarehouse(get_settings(), path=tmp_path / "warehouse.duckdb")
    lake = tmp_path / "lake"
    load_days(wh, lake, STORE_DAYS)
    for day in (D1, D2, D3):
        build_marts(wh, day, window_days=2)
    # 11-02 reloaded with a single view: the run of 11-03 must rebuild 11-02 and the 11-02 and
    # 11-03 snapshots (their windows hold 11-02), not 11-01's.
    write_partition(lake, "2019-11-02", [ev("2019-11-02 10:00:00", "view", 400, 4, "s4")])
    wh.load_events_partition(D2, str(lake))
    plan = plan_marts(wh, D3, window_days=2)
    assert plan.event_dates == [D2, D3]
    assert plan.as_of_windows == [(D2, 2), (D3, 2)]
    build_marts(wh, D3, window_days=2)
    funnel = wh.query("select event_date, n_events from mart_daily_funnel where scope = 'all' order by 1")
    assert funnel["n_events"].tolist() == [7, 1, 3]  # 11-01: e1..e7; 11-02: the reloaded view; 11-03: e14..e16
    summary = wh.query("select as_of_date, n_events from mart_period_summary where scope = 'all' order by 1")
    assert summary["n_events"].tolist() == [7, 8, 4]  # windows 10-31..11-01, 11-01..02, 11-02..03
    wh.close()
