"""Exports that skip days: which dates have landing files, how a gap is named, and what the
user is told when the Spark job fails (its error line and the log's path, not Spark's INFO)."""

from __future__ import annotations

import pytest

from shopflow import pipeline
from shopflow.config import get_settings
from shopflow.dates import describe


def test_describe_names_runs_of_dates():
    assert describe(["2019-10-03", "2019-10-02", "2019-10-04", "2019-10-30", "2019-11-02"]) == (
        "2019-10-02..2019-10-04, 2019-10-30, 2019-11-02"
    )
    assert describe(["2019-12-31", "2020-01-01"]) == "2019-12-31..2020-01-01"
    assert describe([]) == ""


@pytest.fixture
def landing(tmp_path, monkeypatch):
    monkeypatch.setenv("SHOPFLOW_HOME", str(tmp_path))
    monkeypatch.delenv("SHOPFLOW_LANDING", raising=False)
    folder = tmp_path / "landing"
    folder.mkdir()
    return folder


def test_landing_dates_splits_a_range_into_present_and_missing(landing):
    (landing / "2019-10-01.csv.gz").write_bytes(b"x")
    (landing / "2019-10-31.csv").write_text("x")
    (landing / "2019-10-15.csv.gz.tmp-1").write_text("x")  # a landing run in progress: not a file of the date
    present, missing = pipeline.landing_dates("2019-10-01", "2019-10-31", get_settings())
    assert present == ["2019-10-01", "2019-10-31"]
    assert len(missing) == 29 and missing[0] == "2019-10-02" and missing[-1] == "2019-10-30"


def test_clean_range_with_no_landing_file_starts_no_job(landing, monkeypatch):
    import subprocess

    def refuse(*args, **kwargs):
        raise AssertionError("spark-submit was started")

    monkeypatch.setattr(subprocess, "Popen", refuse)
    assert pipeline.clean_range("2019-10-02", "2019-10-30") == []


SPARK_LOG = """\
25/12/03 09:30:01 INFO SparkContext: Running Spark version 4.2.0
25/12/03 09:30:09 WARN NativeCodeLoader: Unable to load native-hadoop library
Traceback (most recent call last):
  File "/work/main/jobs/clean_events.py", line 43, in <module>
    sys.exit(main())
  File "/work/main/src/shopflow/clean.py", line 255, in resolve_sources
    raise FileNotFoundError(f"no landing file ({names}) in {landing} for {describe(missing)}")
FileNotFoundError: no landing file (D.csv.gz or D.csv) in /data/landing for 2019-10-02..2019-10-30
25/12/03 09:30:12 INFO SparkContext: Successfully stopped SparkContext
25/12/03 09:30:12 INFO ShutdownHookManager: Shutdown hook called
"""


def test_the_users_line_is_the_jobs_python_error():
    assert pipeline._last_python_error(SPARK_LOG) == (
        "FileNotFoundError: no landing file (D.csv.gz or D.csv) in /data/landing for 2019-10-02..2019-10-30"
    )
    captured = "pyspark.errors.exceptions.captured.AnalysisException: [PATH_NOT_FOUND] Path does not exist: x"
    assert pipeline._last_python_error(SPARK_LOG + captured + "\n") == (
        "AnalysisException: [PATH_NOT_FOUND] Path does not exist: x"
    )
    assert pipeline._last_python_error("25/12/03 INFO only info\n") == "no Python error in the log (exit code only)"


# What Cosmos logged when dbt's on-run-end hook failed a data test (one JSON line, shortened),
# then the task's own error.
DBT_LOG = r"""{"data": {"exc": "Compilation Error in operation shopflow-on-run-end-0 (./dbt_project.yml)\n  check quarantine_share failed for 2019-11-01: 1 violating rows, e.g. [{\"rows_valid\":0,\"what_to_do\":\"land the export again with shopflow land --repair-float-ids\"}]\n  \n  > in macro record_dq_results"}}
airflow.sdk.exceptions.AirflowException: dbt command failed. The command returned a non-zero exit code 2.
"""


def test_a_failed_data_check_is_the_users_line_not_dbts_exit_code():
    assert pipeline._failed_checks(DBT_LOG) == (
        'check quarantine_share failed for 2019-11-01: 1 violating rows, e.g. [{"rows_valid":0,'
        '"what_to_do":"land the export again with shopflow land --repair-float-ids"}]'
    )
    assert pipeline._failed_checks(SPARK_LOG) == ""


def test_a_backfill_queues_one_range_per_run_of_landed_dates():
    from shopflow.airflow_local import date_segments

    assert date_segments(["2019-10-31", "2019-10-01", "2019-10-02", "2019-11-01", "2019-10-15"]) == [
        ("2019-10-01", "2019-10-02"), ("2019-10-15", "2019-10-15"), ("2019-10-31", "2019-11-01")
    ]
    assert date_segments([]) == []
