"""The DAGs' report reads a Parquet export of its date, so a writer holding the DuckDB file
neither blocks it nor is blocked by it; the export gives the dashboard the same figures."""

from __future__ import annotations

import dataclasses
import datetime as dt
import subprocess
import sys

import pandas as pd
import pytest

from test_warehouse_lake import STORE_DAYS, load_days

from shopflow.config import get_settings
from shopflow.marts import build_marts

DAY = dt.date(2019, 11, 3)


@pytest.fixture
def exported(duck, tmp_path):
    """Marts as of 11-02 and 11-03, the export of 11-03 written, the warehouse file closed."""
    from shopflow.report import snapshot

    wh, lake = duck
    load_days(wh, lake, STORE_DAYS)
    build_marts(wh, dt.date(2019, 11, 2), window_days=2)
    build_marts(wh, DAY, window_days=3)
    settings = dataclasses.replace(get_settings(), home=tmp_path, duckdb_path=wh.path,
                                   mlflow_uri=f"sqlite:///{tmp_path / 'no-mlflow.db'}")
    folder = snapshot.export(wh, DAY, settings)
    return wh, settings, folder


def _fields(data) -> dict:
    return {f.name: getattr(data, f.name) for f in dataclasses.fields(data) if f.name != "source"}


def test_the_export_gives_the_dashboard_the_same_figures(exported):
    from shopflow.report import data as report_data
    from shopflow.report import snapshot

    wh, settings, folder = exported
    direct = _fields(report_data.load(wh, DAY))
    with snapshot.reader(DAY, settings) as reader:
        copied = _fields(report_data.load(reader, DAY))
    assert direct["period"] == copied["period"] and direct["period"].n_days_loaded == 3
    for name, value in direct.items():
        if isinstance(value, pd.DataFrame):
            assert len(value) > 0 or name in ("quarantine", "checks"), name
            pd.testing.assert_frame_equal(copied[name], value, check_dtype=True, obj=name)
        else:
            assert copied[name] == value, name
    # Only 11-03's snapshot of the per-snapshot marts is copied; the warehouse holds two.
    for table in ("mart_rfm", "mart_top_items"):
        dates = wh.query(f"select distinct as_of_date from {table} order by 1")["as_of_date"]
        assert [str(d)[:10] for d in dates] == ["2019-11-02", "2019-11-03"]
        kept = pd.read_parquet(folder / f"{table}.parquet")
        assert set(str(d)[:10] for d in kept["as_of_date"]) == {"2019-11-03"}


def test_the_report_task_draws_while_another_process_writes(exported):
    from shopflow import pipeline
    from shopflow.warehouse import get_warehouse

    wh, settings, _ = exported
    wh.close()
    writer = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                               "print('open', flush=True); time.sleep(60)", str(settings.duckdb_path)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "open"
        with pytest.raises(RuntimeError, match="cannot open the DuckDB warehouse"):
            get_warehouse(settings)  # what the report met before it read the export
        page = pipeline.build_report(DAY.isoformat(), settings)
    finally:
        writer.kill()
        writer.wait()
    html = open(page, encoding="utf-8").read()
    assert "exported for 2019-11-03" in html and "2019-11-01 to 2019-11-03" in html


def test_a_rerun_replaces_the_export_and_old_ones_are_pruned(exported, monkeypatch):
    from shopflow.report import snapshot

    wh, settings, folder = exported
    assert snapshot.export(wh, DAY, settings) == folder
    assert sorted(p.name for p in folder.parent.iterdir()) == ["as_of=2019-11-03"]
    monkeypatch.setattr(snapshot, "KEEP", 1)
    snapshot.export(wh, dt.date(2019, 11, 2), settings)
    assert sorted(p.name for p in folder.parent.iterdir()) == ["as_of=2019-11-02"]
    assert snapshot.reader(DAY, settings) is None  # pruned: the report would read the warehouse


def test_bigquery_exports_nothing(exported):
    from shopflow.report import snapshot

    wh, settings, _ = exported
    bigquery = dataclasses.replace(settings, warehouse="bigquery")
    assert snapshot.reader(DAY, bigquery) is None
