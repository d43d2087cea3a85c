"""DAG integrity: both deployments parse, defaults hold, nothing is looked up or imported
heavily at parse time, and the task graph is the one documented in the DAG docstrings."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from shopflow.runtime import REPO_ROOT

DAGS = REPO_ROOT / "dags"
GCP_ENV = {
    "SHOPFLOW_DEPLOYMENT": "gcp",
    "SHOPFLOW_LANDING": "gs://shopflow-test/landing",
    "SHOPFLOW_LAKE": "gs://shopflow-test/lake",
    "SHOPFLOW_WAREHOUSE": "bigquery",
    "SHOPFLOW_BQ_PROJECT": "shopflow-test",
    "SHOPFLOW_GCP_REGION": "europe-west1",
    "SHOPFLOW_CODE_URI": "gs://shopflow-test/code",
}

DAILY_EDGES = {
    "resolve_date": {"wait_for_landing", "decide_clean", "load_events", "plan_marts", "publish_marts", "report"},
    "wait_for_landing": {"decide_clean"},
    "decide_clean": {"clean_events", "skip_clean"},
    "clean_events": {"load_events"},
    "skip_clean": {"load_events"},
    "load_events": {"marts_wanted"},
    "marts_wanted": {"plan_marts"},
    "plan_marts": {"marts.dbt_producer_watcher", "record_marts"},
    "record_marts": {"publish_marts"},
    "publish_marts": {"report"},
    "report": set(),
}
# The Cosmos task group (watcher mode, rendered from sql/target/manifest.json): one dbt build in
# the producer, then one task per model reporting its status, the funnel's data tests after it.
MARTS_EDGES = {
    "marts.dbt_producer_watcher": {"marts.dbt_producer_watcher_done", "marts.stg_events_run", "marts.int_session_days_run",
                                   "marts.int_user_days_run", "marts.int_item_days_run",
                                   "marts.int_category_brand_days_run",
                                   "marts.mart_daily_funnel.run", "marts.mart_daily_funnel.test",
                                   "marts.mart_hourly_activity_run", "marts.mart_weekday_activity_run",
                                   "marts.mart_period_summary_run", "marts.mart_rfm_run", "marts.mart_top_items_run"},
    "marts.dbt_producer_watcher_done": {"record_marts"},
    "marts.stg_events_run": {"marts.int_session_days_run", "marts.int_item_days_run", "marts.mart_hourly_activity_run"},
    "marts.int_session_days_run": {"marts.int_user_days_run", "marts.mart_daily_funnel.run", "marts.mart_period_summary_run",
                                   "marts.mart_rfm_run"},
    "marts.int_user_days_run": {"marts.mart_daily_funnel.run", "marts.mart_period_summary_run"},
    "marts.int_item_days_run": {"marts.int_category_brand_days_run", "marts.mart_top_items_run"},
    "marts.int_category_brand_days_run": {"marts.mart_top_items_run"},
    "marts.mart_daily_funnel.run": {"marts.mart_daily_funnel.test"},
    "marts.mart_daily_funnel.test": {"record_marts"},
    "marts.mart_hourly_activity_run": {"marts.mart_weekday_activity_run"},
    "marts.mart_weekday_activity_run": {"record_marts"},
    "marts.mart_period_summary_run": {"record_marts"},
    "marts.mart_rfm_run": {"record_marts"},
    "marts.mart_top_items_run": {"record_marts"},
}
TRAINING_EDGES = {
    "resolve_run_date": {"train_als", "train_content", "publish", "report"},
    "train_als": {"publish"},
    "train_content": {"publish"},
    "publish": {"report"},
    "report": set(),
}

# Parsing runs in a fresh interpreter: the environment picks the deployment at parse time,
# and only a fresh interpreter can show which libraries parsing imported.
PARSE = textwrap.dedent(
    """
    import json, sys
    from unittest import mock
    from airflow.sdk import Connection, Variable
    from airflow.sdk.bases.hook import BaseHook

    def refuse(*a, **k):
        raise AssertionError("connection or Variable looked up at parse time")

    with mock.patch.object(Connection, "get", refuse), mock.patch.object(Variable, "get", refuse), \\
            mock.patch.object(BaseHook, "get_connection", refuse):
        from airflow.dag_processing.dagbag import DagBag
        bag = DagBag(dag_folder=sys.argv[1])
    out = {"errors": {k: str(v) for k, v in bag.import_errors.items()}, "dags": {}}
    for dag_id, dag in bag.dags.items():
        out["dags"][dag_id] = {
            "tags": sorted(dag.tags),
            "doc_md": dag.doc_md or "",
            "max_active_runs": dag.max_active_runs,
            "schedule": str(getattr(dag.timetable, "asset_condition", None) or dag.schedule),
            "catchup": dag.catchup,
            "start_date": dag.start_date.isoformat(),
            "timetable": f"{type(dag.timetable).__name__} {getattr(dag.timetable, 'summary', '')}",
            "params": sorted(dag.params.keys()),
            "tasks": {t.task_id: {"down": sorted(t.downstream_task_ids), "retries": t.retries,
                                  "type": type(t).__name__, "pool": t.pool,
                                  "on_failure": bool(t.on_failure_callback),
                                  # environment variables templated when the task runs
                                  "templated_env": sorted(k for k, v in (getattr(t, "env", None) or {}).items()
                                                          if "xcom_pull" in str(v))} for t in dag.tasks},
        }
    heavy = ["pyspark", "duckdb", "implicit", "annoy", "mlflow", "sklearn", "scipy", "google.cloud.bigquery", "plotly"]
    out["heavy"] = [m for m in heavy if m in sys.modules]
    print("RESULT" + json.dumps(out))
    """
)


def parse(env_overrides: dict) -> dict:
    import os

    env = {**os.environ, **env_overrides}
    proc = subprocess.run([sys.executable, "-c", PARSE, str(DAGS)], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = [l for l in proc.stdout.splitlines() if l.startswith("RESULT")][-1]
    return json.loads(line[len("RESULT"):])


@pytest.fixture(scope="module")
def local():
    return parse({"SHOPFLOW_DEPLOYMENT": "local", "SHOPFLOW_CATCHUP": "", "SHOPFLOW_START_DATE": ""})


@pytest.fixture(scope="module")
def gcp():
    return parse(GCP_ENV)


def test_local_mode_parses_without_errors_or_heavy_imports(local):
    assert local["errors"] == {}
    assert set(local["dags"]) == {"shopflow_daily", "shopflow_training"}
    assert local["heavy"] == []


def test_gcp_mode_parses_with_google_operators(gcp):
    assert gcp["errors"] == {}
    daily = gcp["dags"]["shopflow_daily"]["tasks"]
    assert daily["wait_for_landing"]["type"] == "GCSObjectExistenceSensor"
    assert daily["clean_events"]["type"] == "DataprocCreateBatchOperator"
    assert daily["load_events"]["type"] == "GCSToBigQueryOperator"
    # The Google provider's operator modules import google.cloud.bigquery themselves; nothing
    # of ours is imported heavily.
    assert [m for m in gcp["heavy"] if not m.startswith("google.")] == []


def test_local_operators(local):
    daily = local["dags"]["shopflow_daily"]["tasks"]
    assert daily["wait_for_landing"]["type"] == "PythonSensor"
    assert daily["clean_events"]["type"] == "SparkSubmitOperator"


@pytest.mark.parametrize("mode", ["local", "gcp"])
def test_every_dag_has_tags_docs_retries_and_failure_callbacks(mode, local, gcp):
    for dag_id, dag in {"local": local, "gcp": gcp}[mode]["dags"].items():
        assert "shopflow" in dag["tags"], dag_id
        assert dag["doc_md"].strip().startswith(f"### {dag_id}"), dag_id
        for task_id, task in dag["tasks"].items():
            if task["type"] == "DbtProducerWatcherOperator":
                # Cosmos skips a producer's retry: a failed dbt build would become a skipped run
                assert task["retries"] == 0, (dag_id, task_id)
            else:
                assert task["retries"] >= 1, (dag_id, task_id)
            assert task["on_failure"], (dag_id, task_id)


def test_daily_task_graph(local):
    dag = local["dags"]["shopflow_daily"]
    assert {k: set(v["down"]) for k, v in dag["tasks"].items()} == DAILY_EDGES | MARTS_EDGES
    assert dag["catchup"] is True and dag["max_active_runs"] == 2
    assert dag["timetable"] == "CronDataIntervalTimetable 0 0 * * *"
    assert dag["start_date"] == "2019-11-01T00:00:00+00:00"
    assert dag["params"] == ["date", "defer_marts", "force_clean", "marts_from"]
    # Every task that opens the warehouse is in its pool; dbt runs in the producer (one writer
    # on DuckDB: a producer that met another run's load failed, and Cosmos skips its retry).
    for task_id in ("load_events", "plan_marts", "marts.dbt_producer_watcher", "record_marts"):
        assert dag["tasks"][task_id]["pool"] == "shopflow_warehouse", task_id
    # The report reads the export record_marts wrote (shopflow.report.snapshot), not the file.
    assert dag["tasks"]["report"]["pool"] != "shopflow_warehouse"
    assert dag["tasks"]["marts.dbt_producer_watcher"]["type"] == "DbtProducerWatcherOperator"
    assert dag["tasks"]["marts.mart_rfm_run"]["type"] == "DbtRunWatcherOperator"


@pytest.mark.parametrize("mode", ["local", "gcp"])
def test_dbt_reads_the_warehouse_location_when_it_runs(mode, local, gcp):
    # Every setting that locates the warehouse (the BigQuery project too) comes from
    # plan_marts's XCom when the task runs, not from the environment the DAG was parsed in.
    from shopflow.dbt import LOCATION_SETTINGS

    tasks = {"local": local, "gcp": gcp}[mode]["dags"]["shopflow_daily"]["tasks"]
    assert set(LOCATION_SETTINGS) <= set(tasks["marts.dbt_producer_watcher"]["templated_env"])
    assert "SHOPFLOW_BQ_PROJECT" in LOCATION_SETTINGS


def test_the_local_stack_can_turn_catchup_off_and_move_the_start():
    dags = parse({"SHOPFLOW_DEPLOYMENT": "local", "SHOPFLOW_CATCHUP": "false", "SHOPFLOW_START_DATE": "2019-10-01"})["dags"]
    assert dags["shopflow_daily"]["catchup"] is False
    assert dags["shopflow_daily"]["start_date"] == "2019-10-01T00:00:00+00:00"


def test_gcp_daily_graph_records_the_manifest_after_the_load(gcp):
    tasks = gcp["dags"]["shopflow_daily"]["tasks"]
    assert tasks["load_events"]["down"] == ["record_manifest"]
    assert tasks["record_manifest"]["down"] == ["marts_wanted"]


def test_training_task_graph_and_form(local):
    dag = local["dags"]["shopflow_training"]
    assert {k: set(v["down"]) for k, v in dag["tasks"].items()} == TRAINING_EDGES
    assert dag["params"] == ["alpha", "factors", "iterations", "regularization", "run_date", "sweep", "window_days"]
    assert dag["max_active_runs"] == 1
    assert "shopflow_marts" in dag["schedule"]
