"""``pipeline.clean_range`` through the real spark-submit: an export with rows on the 1st and
the 31st only is cleaned for those two dates (no error for the 29 between), the job's output
goes to a log file, and a failed job is reported by its error line and the log's path."""

from __future__ import annotations

import gzip
import json

import pytest

from shopflow import pipeline
from shopflow.config import get_settings
from shopflow.errors import JobFailed
from shopflow.schema import RAW_HEADER

S1 = "72d76fde-8bb3-4e00-8c23-a032dfed738c"
FIRST = f"2019-10-01 00:00:00 UTC,view,44600062,2103807459595387724,,shiseido,35.79,541312140,{S1}"
LAST = f"2019-10-31 23:59:59 UTC,purchase,5802432,1487580005268456287,,f.o.x,6.27,541312140,{S1}"


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("SHOPFLOW_HOME", str(tmp_path))
    for name in ("SHOPFLOW_LANDING", "SHOPFLOW_LAKE"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "landing").mkdir()
    return tmp_path


def write_day(home, day: str, lines: list[str]) -> None:
    with gzip.open(home / "landing" / f"{day}.csv.gz", "wt") as handle:
        handle.write("\n".join([RAW_HEADER, *lines]) + "\n")


def test_an_export_with_gaps_is_cleaned_for_the_dates_it_has(home):
    write_day(home, "2019-10-01", [FIRST])
    write_day(home, "2019-10-31", [LAST])
    # What `shopflow land --repair-float-ids` records beside a repaired date's file.
    (home / "landing" / "2019-10-31.repairs.json").write_text('{"product_id": 1, "category_id_nulled": 0}')
    seen = []
    built = pipeline.clean_range("2019-10-01", "2019-10-31", get_settings(), on_date=seen.append)
    assert built == ["2019-10-01", "2019-10-31"]
    assert [(m["event_date"], m["rows_in"], m["rows_valid"]) for m in seen] == [
        ("2019-10-01", 1, 1), ("2019-10-31", 1, 1)
    ]
    manifests = sorted(p.name for p in (home / "lake" / "manifests").glob("*.json"))
    assert manifests == ["2019-10-01.json", "2019-10-31.json"]
    last = json.loads((home / "lake" / "manifests" / "2019-10-31.json").read_text())
    assert (last["rows_valid"], last["landing_repairs"]) == (1, {"product_id": 1, "category_id_nulled": 0})
    assert "landing_repairs" not in seen[0]
    log_text = (home / "logs" / "clean-2019-10-01-2019-10-31.log").read_text()
    assert "--dates 2019-10-01,2019-10-31" in log_text and " INFO " in log_text
    # Both partitions are current now: no second job.
    assert pipeline.clean_range("2019-10-01", "2019-10-31", get_settings()) == []


def test_a_failed_job_names_its_error_and_its_log(home):
    (home / "landing" / "2019-10-01.csv.gz").write_bytes(b"this is not gzip\n")
    with pytest.raises(JobFailed) as failed:
        pipeline.clean_range("2019-10-01", "2019-10-01", get_settings())
    message = str(failed.value)
    log_path = home / "logs" / "clean-2019-10-01-2019-10-01.log"
    assert message.startswith("the Spark cleaning job failed for 2019-10-01..2019-10-01: ")
    assert message.endswith(f" (Spark log: {log_path})")
    assert "\n" not in message and " INFO " not in message
    assert log_path.is_file()
