"""Incremental runs replace only what they touch, and --full-refresh gives the same tables.

The store of test_warehouse_lake (2019-11-01..03), window 2 days. The daily runs replace one
event date each: the rows of other dates must stay as they were (checked by planting a marker
in 11-01's funnel row, which only a rebuild of 11-01 would erase).
"""

from __future__ import annotations

import datetime as dt

from test_warehouse_lake import STORE_DAYS, load_days, snapshot, write_partition, ev

from shopflow.config import get_settings
from shopflow.dbt import node_seconds
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
    # what bench_dbt_marts reports per model: the last invocation on this warehouse ran them all
    assert set(node_seconds(wh.settings, wh.path)) == set(MODELS) | {"shopflow-on-run-end-0"}
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


def test_a_late_date_rebuilds_the_later_dates_whose_previous_dates_it_changes(tmp_path):
    """s3 (user 3) crosses midnight from 11-01 into 11-02. With 11-02 and 11-03 built first, the
    late 11-01 becomes the previous date of s3's and user 3's 11-02 rows: the run of 11-01 must
    rebuild 11-02 (and 11-03, within lookback_days) so that the 11-02 window counts them once."""
    wh = DuckDBWarehouse(get_settings(), path=tmp_path / "warehouse.duckdb")
    lake = tmp_path / "lake"
    load_days(wh, lake, {d: rows for d, rows in STORE_DAYS.items() if d != "2019-11-01"})
    build_marts(wh, D2, window_days=2)
    build_marts(wh, D3, window_days=2)
    load_days(wh, lake, {"2019-11-01": STORE_DAYS["2019-11-01"]})
    assert plan_marts(wh, D1, window_days=2).event_dates == [D1, D2, D3]
    build_marts(wh, D1, window_days=2)
    previous = wh.query("select cast(previous_session_date as string) as p from int_session_days "
                        "where event_date = date '2019-11-02' and user_id = 3")
    assert previous["p"].tolist() == ["2019-11-01"]
    # window 11-01..11-02: sessions s1 s2 s3 s4 s5 (s3 once), users 1 2 3 4 (user 3 once),
    # purchasing sessions s1 s3 s5, purchasing users 1 3 2
    got = wh.query("select n_sessions, n_users, n_purchasing_sessions, n_purchasing_users from mart_period_summary "
                   "where as_of_date = date '2019-11-02' and scope = 'all'")
    assert [tuple(r) for r in got.itertuples(index=False)] == [(5, 4, 3, 3)]
    wh.close()


def test_a_window_longer_than_the_lookback_is_refused(tmp_path):
    from shopflow import dbt
    from shopflow.marts import lookback_days

    assert lookback_days() == dbt.project_var("lookback_days") == 30
    wh = DuckDBWarehouse(get_settings(), path=tmp_path / "warehouse.duckdb")
    load_days(wh, tmp_path / "lake", STORE_DAYS)
    import pytest

    with pytest.raises(ValueError, match="longer than lookback_days"):
        plan_marts(wh, D3, window_days=31)
    wh.close()
    # dbt itself refuses it too (a run started without shopflow.marts, e.g. `dbt run` by hand)
    proc = dbt.run(["compile", "--select", "mart_period_summary"], duckdb_path=tmp_path / "warehouse.duckdb",
                   extra_env={"SHOPFLOW_DBT_RUN_DATE": "2019-11-03", "SHOPFLOW_DBT_WINDOW_DAYS": "31"}, check=False)
    assert proc.returncode != 0
    assert "a window of 31 days is longer than lookback_days (30)" in proc.stdout


def test_the_first_and_last_day_of_a_full_window_count_a_user_and_session_once(tmp_path):
    """The lookback reaches exactly the start of the longest window: user 1's session a on 11-01
    and 11-30, user 2's sessions b (11-01) and c (11-30). The 30-day window ending 11-30 holds 2
    users and 3 sessions; the 29-day window ending 11-30 holds only the 30th: 2 users, 2 sessions."""
    wh = DuckDBWarehouse(get_settings(), path=tmp_path / "warehouse.duckdb")
    lake = tmp_path / "lake"
    load_days(wh, lake, {
        "2019-11-01": [ev("2019-11-01 10:00:00", "view", 100, 1, "a"), ev("2019-11-01 11:00:00", "view", 100, 2, "b")],
        "2019-11-30": [ev("2019-11-30 10:00:00", "purchase", 100, 1, "a"), ev("2019-11-30 11:00:00", "view", 100, 2, "c")],
    })
    last = dt.date(2019, 11, 30)
    build_marts(wh, dt.date(2019, 11, 1), window_days=30)
    build_marts(wh, last, window_days=30)
    query = ("select n_users, n_sessions, n_viewing_sessions, n_purchasing_sessions, conversion_rate_sessions "
             "from mart_period_summary where as_of_date = date '2019-11-30' and scope = 'all'")
    # session a viewed on the 1st and bought on the 30th: 1 of the 3 viewing sessions converted
    assert [tuple(r) for r in wh.query(query).itertuples(index=False)] == [(2, 3, 3, 1, 1 / 3)]
    rfm = wh.query("select user_id, frequency from mart_rfm where as_of_date = date '2019-11-30'")
    assert [tuple(r) for r in rfm.itertuples(index=False)] == [(1, 1)]
    build_marts(wh, last, window_days=29)
    # only the 30th: a (a purchase, no view) and c (a view)
    assert [tuple(r) for r in wh.query(query).itertuples(index=False)] == [(2, 2, 1, 1, 0.0)]
    wh.close()


def test_a_table_from_an_older_model_asks_for_a_full_refresh(tmp_path):
    """A warehouse built before int_session_days had previous_session_date: the next run fails
    naming the model and --full-refresh (on_schema_change: fail), and a full refresh mends it."""
    import pytest

    from shopflow.dbt import DbtError

    wh = DuckDBWarehouse(get_settings(), path=tmp_path / "warehouse.duckdb")
    load_days(wh, tmp_path / "lake", STORE_DAYS)
    build_marts(wh, D2, window_days=2)
    wh._con.execute("alter table int_session_days drop column previous_session_date")
    with pytest.raises(DbtError, match="int_session_days was built by an older version of the project .*--full-refresh"):
        build_marts(wh, D3, window_days=2)
    build_marts(wh, D3, window_days=2, full_refresh=True)
    got = wh.query("select count(*) as n from int_session_days where previous_session_date = date '2019-11-01'")
    assert got["n"].tolist() == [1]  # s3 crosses from the 1st into the 2nd
    wh.close()
