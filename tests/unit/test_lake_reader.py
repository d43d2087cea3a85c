"""Training reads the lake's Parquet, so a writer holding the DuckDB file does not block it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import subprocess
import sys

import pytest

from shopflow.config import get_settings
from test_warehouse_lake import write_partition  # noqa: E402 - the lake-writing helper of the lake tests


def _row(day: str, user: int, product: int, kind: str) -> dict:
    return {
        "event_time": dt.datetime.fromisoformat(f"{day}T10:00:00+00:00"), "event_date": dt.date.fromisoformat(day),
        "event_type": kind, "product_id": product, "category_id": 1, "category_code": "a.b.c", "category": "a",
        "sub_category": "b", "product": "c", "brand": "x", "price": 1.5, "user_id": user, "user_session": "s",
    }


@pytest.fixture
def lake_and_writer(tmp_path):
    settings = dataclasses.replace(get_settings(), home=tmp_path, lake=str(tmp_path / "lake"),
                                   duckdb_path=tmp_path / "warehouse.duckdb")
    write_partition(tmp_path / "lake", "2019-11-01", [_row("2019-11-01", 1, 10, "purchase"),
                                                      _row("2019-11-01", 2, 10, "view")])
    write_partition(tmp_path / "lake", "2019-11-02", [_row("2019-11-02", 1, 11, "purchase")])
    # Another process writing: it holds the DuckDB file, as a load or a marts build does.
    writer = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                               "print('open', flush=True); time.sleep(60)", str(settings.duckdb_path)],
                              stdout=subprocess.PIPE, text=True)
    assert writer.stdout.readline().strip() == "open"
    yield settings
    writer.kill()
    writer.wait()


def test_the_warehouse_is_locked_while_another_process_writes(lake_and_writer):
    from shopflow.warehouse import get_warehouse

    with pytest.raises(RuntimeError, match="cannot open the DuckDB warehouse"):
        get_warehouse(lake_and_writer)


def test_training_input_reads_the_lake_meanwhile(lake_and_writer):
    from shopflow import train
    from shopflow.lake_reader import events_reader

    days = {"start_date": dt.date(2019, 11, 1), "end_date": dt.date(2019, 11, 2)}
    with events_reader(lake_and_writer) as wh:
        counts = wh.query("select event_date, count(*) as n from events group by 1 order by 1")
        events = train.load_events(wh, days, {"purchase"})
    assert [str(d)[:10] for d in counts["event_date"]] == ["2019-11-01", "2019-11-02"]
    assert counts["n"].tolist() == [2, 1]
    assert sorted(zip(events["user_id"], events["product_id"])) == [(1, 10), (1, 11)]


def test_without_a_lake_the_warehouse_is_read(tmp_path):
    import pandas as pd

    from shopflow.lake_reader import events_reader
    from shopflow.warehouse.duckdb import DuckDBWarehouse

    settings = dataclasses.replace(get_settings(), lake=str(tmp_path / "lake"), duckdb_path=tmp_path / "w.duckdb")
    with DuckDBWarehouse(settings) as wh:
        wh.write_table("events", pd.DataFrame({"user_id": [7, 8, 9]}))
    with events_reader(settings) as wh:
        assert wh.query("select sum(user_id) as n from events")["n"].tolist() == [24]
