"""``shopflow report``: writing the file, rerunning, bad arguments (serving: tests/airflow/test_plugin.py)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from test_report_models import parse
from test_warehouse_lake import STORE_DAYS, load_days

from shopflow.cli import main
from shopflow.marts import build_marts


@pytest.fixture
def warehouse_env(duck, tmp_path, monkeypatch):
    """A built three-day warehouse the command finds through the environment."""
    wh, lake = duck
    load_days(wh, lake, STORE_DAYS)
    build_marts(wh, dt.date(2019, 11, 3), window_days=3)
    wh.close()  # the command opens the file itself
    monkeypatch.setenv("SHOPFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SHOPFLOW_DUCKDB_PATH", str(wh.path))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'none' / 'mlflow.db'}")
    return tmp_path / "home"


def test_report_writes_the_default_file_and_a_rerun_replaces_it(warehouse_env, capsys):
    assert main(["report"]) == 0
    path = warehouse_env / "reports" / "dashboard.html"
    assert f"dashboard written to {path}" in capsys.readouterr().out
    first = path.read_text(encoding="utf-8")
    cells = {(e["data-scope"], e["data-metric"]): e["data-value"] for e in parse(first) if e.get("data-scope")}
    assert cells[("all", "n_events")] == "16" and cells[("reference_filter", "n_purchases")] == "2"
    assert main(["report"]) == 0
    second = path.read_text(encoding="utf-8")

    def stamp_free(text):
        return re.sub(r"generated: <b>[^<]*</b>", "", text)

    assert stamp_free(second) == stamp_free(first)
    assert [p.name for p in path.parent.iterdir()] == ["dashboard.html"]  # no temporary file left


def test_out_as_of_and_scope(warehouse_env, tmp_path):
    out = tmp_path / "elsewhere" / "d.html"
    assert main(["report", "--out", str(out), "--as-of", "2019-11-03", "--scope", "reference_filter"]) == 0
    text = out.read_text(encoding="utf-8")
    assert "scope of sections 2–5: <b>Reference filter" in text


@pytest.mark.parametrize("argv, message", [
    (["report", "--as-of", "2019-13-01"], "not a date"),
    (["report", "--scope", "everything"], "invalid choice"),
])
def test_bad_arguments_are_rejected(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
