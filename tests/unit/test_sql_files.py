"""Every file under sql/ parses as BigQuery SQL, states its grain and keys, and runs on DuckDB."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlglot
from sqlglot import exp

from test_warehouse_lake import write_partition

from shopflow.marts import MODELS, build_marts, checks, run_checks
from shopflow.warehouse.dialect import SQL_ROOT, load_model, parameters, parse_bigquery, to_duckdb

SQL_FILES = sorted(SQL_ROOT.rglob("*.sql"))


def test_the_sql_folder_holds_the_models_and_checks():
    names = {p.stem for p in SQL_FILES}
    assert set(MODELS) <= names
    assert set(checks()) <= names
    assert names == set(MODELS) | set(checks())  # no orphan file that nothing runs


@pytest.mark.parametrize("path", SQL_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_file_parses_as_bigquery_and_transpiles_to_duckdb(path):
    model = load_model(path.stem)
    tree = parse_bigquery(model.sql)
    assert tree.key == "select"
    duck_tree = sqlglot.parse_one(to_duckdb(model.sql), read="duckdb")
    # every @parameter became a DuckDB $parameter (a stray @x would be DuckDB's abs(x))
    assert {p.name for p in duck_tree.find_all(exp.Placeholder)} == set(parameters(model.sql))
    assert not list(duck_tree.find_all(exp.Abs))
    # only the parameters build_marts and run_checks pass
    assert set(parameters(model.sql)) <= {"run_date", "window_days"}
    if model.materialized == "partition":
        assert model.partition_param in parameters(model.sql)


@pytest.mark.parametrize("path", SQL_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_file_follows_the_house_style(path):
    text = path.read_text()
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    assert body.lstrip().startswith("with "), "starts with CTEs importing its inputs"
    assert body.rstrip().splitlines()[-1].startswith("select * from "), "ends by selecting from the last CTE"
    code = re.sub(r"'[^']*'", "''", body)  # string literals may hold capitals ('Monday')
    assert code == code.lower(), "lower case SQL"


def test_models_and_checks_run_on_an_empty_day(duck):
    wh, lake = duck
    write_partition(lake, "2019-11-01", [])
    wh.load_events_partition(dt.date(2019, 11, 1), str(lake))
    rows = build_marts(wh, dt.date(2019, 11, 1))
    assert rows == {name: 0 for name in MODELS}
    results = run_checks(wh, dt.date(2019, 11, 1))
    assert results["status"].tolist() == ["pass"] * len(checks())
