"""The DuckDB backend's interface: query, write_table, read_table, table_exists."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from test_warehouse_lake import STORE_DAYS, load_days, rows_of

from shopflow.config import ConfigError, get_settings
from shopflow.warehouse import get_warehouse
from shopflow.warehouse.duckdb import DuckDBWarehouse


def test_get_warehouse_defaults_to_duckdb_under_shopflow_home():
    settings = get_settings()
    with get_warehouse(settings) as wh:
        assert isinstance(wh, DuckDBWarehouse)
        assert wh.path == settings.home / "warehouse.duckdb"


def test_query_takes_bigquery_sql_and_named_parameters(duck):
    wh, lake = duck
    load_days(wh, lake, STORE_DAYS)
    # the recommender's read: purchases of the 1st and 2nd (e3, e8, e12, e13)
    got = wh.query(
        "select user_id, product_id, event_type, event_time from events "
        "where event_date between @start_date and @end_date and event_type = @kind "
        "order by event_time",
        {"start_date": dt.date(2019, 11, 1), "end_date": dt.date(2019, 11, 2), "kind": "purchase"},
    )
    assert rows_of(got, ("user_id", "product_id")) == [(1, 100), (3, 100), (2, 300), (2, 200)]
    assert str(got["event_time"].dt.tz) in ("UTC", "Etc/UTC")
    assert got["event_time"].iloc[0] == pd.Timestamp("2019-11-01 08:10:00", tz="UTC")


def test_integer_sums_come_back_as_integers(duck):
    wh, lake = duck
    load_days(wh, lake, STORE_DAYS)
    got = wh.query("select sum(product_id) as s, countif(event_type = 'view') as v from events")
    # products 100+100+100+200+300+300+100 + 100+400+400+400+300+200 + 100+400+400 = 3900
    assert got["s"].dtype == "int64" and got["s"].tolist() == [3900]
    assert got["v"].tolist() == [7]


def test_a_missing_parameter_is_named(duck):
    wh, _ = duck
    with pytest.raises(ValueError, match="needs parameters @run_date"):
        wh.query("select @run_date as d")


def test_write_table_replaces_the_table_or_only_a_slice(duck):
    wh, _ = duck
    d1, d2 = dt.date(2019, 11, 1), dt.date(2019, 11, 2)
    frame = pd.DataFrame({"run_date": [d1, d1, d2], "user_id": [1, 2, 3], "score": [0.5, 0.25, 1.0]})
    assert wh.write_table("rec_user_items", frame) == 3
    # replacing the 1st leaves the 2nd alone
    new_first = pd.DataFrame({"run_date": [d1], "user_id": [9], "score": [2.0]})
    assert wh.write_table("rec_user_items", new_first, replace_where={"run_date": d1}) == 1
    got = wh.query("select cast(run_date as string) as d, user_id, score from rec_user_items order by user_id")
    assert rows_of(got) == [("2019-11-02", 3, 1.0), ("2019-11-01", 9, 2.0)]
    # without replace_where the whole table is replaced
    wh.write_table("rec_user_items", pd.DataFrame({"run_date": [d2], "user_id": [4], "score": [0.0]}))
    assert wh.read_table("rec_user_items")["user_id"].tolist() == [4]


def test_write_table_creates_a_table_on_first_replace_where(duck):
    wh, _ = duck
    assert not wh.table_exists("rec_similar_items")
    frame = pd.DataFrame({"run_date": [dt.date(2019, 11, 1)], "item_id": [1], "similar_item_id": [2]})
    wh.write_table("rec_similar_items", frame, replace_where={"run_date": dt.date(2019, 11, 1)})
    wh.write_table("rec_similar_items", frame, replace_where={"run_date": dt.date(2019, 11, 1)})
    assert wh.table_exists("rec_similar_items")
    assert len(wh.read_table("rec_similar_items")) == 1  # the rerun replaced, not appended


def test_write_table_refuses_rows_outside_the_replaced_slice(duck):
    wh, _ = duck
    frame = pd.DataFrame({"run_date": [dt.date(2019, 11, 1), dt.date(2019, 11, 2)], "x": [1, 2]})
    with pytest.raises(ValueError, match="1 rows have run_date != datetime.date\\(2019, 11, 1\\)"):
        wh.write_table("t", frame, replace_where={"run_date": dt.date(2019, 11, 1)})
    with pytest.raises(ValueError, match="replace_where column 'day' is not in the frame"):
        wh.write_table("t", frame, replace_where={"day": 1})
    assert not wh.table_exists("t")


def test_a_failed_write_keeps_the_old_rows(duck):
    wh, _ = duck
    wh.write_table("t", pd.DataFrame({"k": [1], "x": [1]}))
    bad = pd.DataFrame({"k": [1], "other_column": [2]})  # no column x: the insert fails
    with pytest.raises(Exception):
        wh.write_table("t", bad, replace_where={"k": 1})
    assert rows_of(wh.read_table("t")) == [(1, 1)]


@pytest.mark.parametrize("name", ["events; drop table events", "1abc", "a-b", ""])
def test_table_names_are_validated(duck, name):
    wh, _ = duck
    with pytest.raises(ConfigError):
        wh.read_table(name)
    with pytest.raises(ConfigError):
        wh.write_table(name, pd.DataFrame({"x": [1]}))
    with pytest.raises(ConfigError):
        wh.table_exists(name)


def test_a_second_writer_gets_a_clear_error(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "w.duckdb"
    with DuckDBWarehouse(get_settings(), path=path):
        code = (
            "from shopflow.config import get_settings; from shopflow.warehouse.duckdb import DuckDBWarehouse; "
            f"DuckDBWarehouse(get_settings(), path={str(path)!r})"
        )
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 1
    assert "DuckDB allows one writing process per file" in proc.stderr
