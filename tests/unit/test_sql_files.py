"""The dbt project in sql/: one model a file with grain, keys and a description in YAML, the
house style, every check a data test, and the whole project on an empty day."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import yaml

from test_warehouse_lake import write_partition

from shopflow.marts import CHECKS, MODELS, build_marts, run_checks

SQL = Path(__file__).resolve().parents[2] / "sql"
MODEL_FILES = sorted((SQL / "models").rglob("*.sql"))


def _yaml_models() -> dict:
    found = {}
    for path in (SQL / "models").rglob("*.yml"):
        for model in yaml.safe_load(path.read_text()).get("models", []):
            found[model["name"]] = model
    return found


def test_one_model_a_file_each_described_with_grain_and_keys():
    assert sorted(p.stem for p in MODEL_FILES) == sorted(MODELS)
    described = _yaml_models()
    assert set(described) == set(MODELS)
    for path in MODEL_FILES:
        text = path.read_text()
        where = text if path.stem in ("stg_events",) else text
        assert "Grain:" in where or "Grain:" in described[path.stem]["description"], path.stem
        assert "Keys:" in where or "Keys:" in described[path.stem]["description"], path.stem
        assert described[path.stem]["description"].strip(), path.stem


@pytest.mark.parametrize("path", MODEL_FILES, ids=lambda p: p.stem)
def test_model_follows_the_house_style(path):
    lines = [line for line in path.read_text().splitlines()
             if not line.lstrip().startswith(("--", "{{ config", "{%-", "{%"))]
    body = "\n".join(lines)
    assert body.lstrip().startswith("with "), "starts with CTEs importing its inputs"
    assert body.rstrip().splitlines()[-1].startswith("select * from "), "ends by selecting from the last CTE"
    code = re.sub(r"'[^']*'", "''", body)  # string literals may hold capitals ('Monday')
    code = re.sub(r"\{\{.*?\}\}", "", code, flags=re.S)
    assert code == code.lower(), "lower case SQL"
    assert "source('shopflow'" in body or "ref('" in body, "reads its inputs through source() or ref()"


def test_every_check_is_a_data_test():
    singular = {p.stem for p in (SQL / "tests").glob("*.sql")}
    sources = (SQL / "models" / "staging" / "_sources.yml").read_text()
    generic = set(re.findall(r"name: (\w+)\n\s+description", sources)) & set(CHECKS)
    assert singular | generic == set(CHECKS)
    assert generic == {"not_null_keys", "unique_events", "accepted_event_types"}


def test_no_packages_and_no_telemetry():
    assert not (SQL / "packages.yml").exists() and not (SQL / "dependencies.yml").exists()
    project = yaml.safe_load((SQL / "dbt_project.yml").read_text())
    assert project["flags"]["send_anonymous_usage_stats"] is False


def test_models_and_checks_run_on_an_empty_day(duck):
    wh, lake = duck
    write_partition(lake, "2019-11-01", [])
    wh.load_events_partition(dt.date(2019, 11, 1), str(lake))
    rows = build_marts(wh, dt.date(2019, 11, 1))
    assert rows == {name: 0 for name in MODELS}
    # an empty day is a failed day: quarantine_share fails on zero valid rows (issue 14)
    from shopflow.warehouse.base import DataQualityError

    with pytest.raises(DataQualityError, match="check quarantine_share failed for 2019-11-01"):
        run_checks(wh, dt.date(2019, 11, 1))
    results = wh.query("select check_name, status from dq_results order by check_name")
    assert dict(zip(results["check_name"], results["status"])) == {
        name: ("fail" if name == "quarantine_share" else "pass") for name in CHECKS}
