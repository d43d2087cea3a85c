"""End to end through Airflow (``dag.test``) on generated data, DuckDB and a temporary MLflow
store: shopflow_daily for two dates (spark-submit through SparkSubmitOperator), then
shopflow_training; rerunning a date changes nothing; a backfill (one bulk Spark job, then the
runs) gives the same warehouse as running the dates one by one in reverse order.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest

from shopflow import generate

DAYS = ["2019-11-01", "2019-11-02", "2019-11-03"]
SAMPLE = generate.GeneratorConfig(
    start=dt.date(2019, 11, 1), days=3, events_per_day=4_000, users=1_500, products=1_000, seed=5
)
WAREHOUSE_TABLES = (
    "events", "manifests", "manifest_quarantine", "mart_daily_funnel", "mart_hourly_activity",
    "mart_weekday_activity", "mart_top_items", "mart_rfm", "dq_results",
)


def use_home(monkeypatch, home: Path) -> None:
    monkeypatch.setenv("SHOPFLOW_HOME", str(home))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{home / 'mlflow.db'}")
    home.mkdir(parents=True, exist_ok=True)


def state(home: Path) -> dict[str, pd.DataFrame]:
    """Every warehouse table in a canonical order, without load/run timestamps and the
    landing file's path (each scenario has its own home)."""
    from shopflow.config import get_settings
    from shopflow.warehouse.duckdb import DuckDBWarehouse

    out = {}
    with DuckDBWarehouse(get_settings(), path=home / "warehouse.duckdb") as wh:
        for table in WAREHOUSE_TABLES:
            frame = wh.read_table(table)
            frame = frame[[c for c in frame.columns if not c.endswith("_at") and c != "source"]]
            out[table] = frame.sort_values(list(frame.columns)).reset_index(drop=True)
    return out


def manifest(home: Path, day: str) -> dict:
    return json.loads((home / "lake" / "manifests" / f"{day}.json").read_text())


@pytest.fixture(scope="module")
def landing(tmp_path_factory):
    folder = tmp_path_factory.mktemp("landing")
    generate.generate(SAMPLE, folder, workers=1, log=lambda *_: None)
    return folder


def seed_home(home: Path, landing: Path) -> None:
    (home / "landing").mkdir(parents=True, exist_ok=True)
    for day in DAYS:
        (home / "landing" / f"{day}.csv.gz").write_bytes((landing / f"{day}.csv.gz").read_bytes())


@pytest.fixture(scope="module")
def daily_then_training(tmp_path_factory, landing):
    """Two dates through shopflow_daily (Spark per run), then shopflow_training."""
    from shopflow import airflow_local

    home = tmp_path_factory.mktemp("e2e-home")
    seed_home(home, landing)
    with pytest.MonkeyPatch.context() as mp:
        use_home(mp, home)
        airflow_local.prepare_metadata_db()
        daily = airflow_local.run_daily(DAYS[:2])
        first = state(home)
        rerun = airflow_local.run_daily(DAYS[:1])
        second = state(home)
        training = airflow_local.run_training(DAYS[1])
        yield {"home": home, "daily": daily, "rerun": rerun, "first": first, "second": second, "training": training}


def test_daily_runs_fill_the_warehouse(daily_then_training):
    run = daily_then_training
    assert [(d, s) for d, s, _ in run["daily"]] == [(DAYS[0], "success"), (DAYS[1], "success")]
    tables = run["first"]
    events = tables["events"]
    for day in DAYS[:2]:
        loaded = int((events["event_date"].astype(str) == day).sum())
        m = manifest(run["home"], day)
        assert loaded == m["rows_valid"] > 0
        assert m["rows_in"] == m["rows_valid"] + m["duplicates_dropped"] + m["rows_quarantined"]
        assert m["duplicates_dropped"] > 0  # the generator writes duplicates at 0.2%
    funnel = tables["mart_daily_funnel"]
    assert sorted(funnel["event_date"].astype(str).unique()) == DAYS[:2]
    assert set(tables["dq_results"]["status"]) == {"pass"}


def test_rerunning_a_date_changes_nothing(daily_then_training):
    run = daily_then_training
    assert run["rerun"][0][1] == "success"
    for table, frame in run["first"].items():
        pd.testing.assert_frame_equal(frame, run["second"][table], check_like=True, obj=table)


def test_training_logs_to_mlflow_and_publishes_recommendations(daily_then_training):
    from mlflow.tracking import MlflowClient

    from shopflow.config import get_settings
    from shopflow.warehouse.duckdb import DuckDBWarehouse

    home = daily_then_training["home"]
    assert daily_then_training["training"][0] == "success"
    client = MlflowClient(tracking_uri=f"sqlite:///{home / 'mlflow.db'}")
    als = client.get_experiment_by_name("shopflow-als")
    runs = client.search_runs([als.experiment_id])
    assert runs, "no ALS run logged"
    run = runs[0]
    assert {"factors", "regularization", "alpha", "iterations"} <= set(run.data.params)
    assert len(client.get_metric_history(run.info.run_id, "loss")) == int(run.data.params["iterations"])
    assert "ndcg_at_15" in " ".join(run.data.metrics)
    assert client.get_experiment_by_name("shopflow-content") is not None
    # The popularity gate (issue 13): on two generated days ALS may lose to popularity on the
    # temporal split; then it is not registered at all, and the run says why.
    versions = client.search_model_versions("name='shopflow-als'")
    if run.data.metrics.get("beats_popularity") == 1.0:
        assert [v.run_id for v in versions] == [run.info.run_id]
        assert client.get_model_version_by_alias("shopflow-als", "champion") is not None
    else:
        assert run.data.metrics.get("beats_popularity") == 0.0
        assert versions == []
        assert (run.data.tags["champion_decision"], run.data.tags["registered"]) == ("rejected", "False")
    with pytest.MonkeyPatch.context() as mp:
        use_home(mp, home)
        with DuckDBWarehouse(get_settings(), path=home / "warehouse.duckdb") as wh:
            recs = wh.read_table("rec_user_items")
            similar = wh.read_table("rec_similar_items")
    assert len(recs) > 0 and len(similar) > 0
    assert set(recs["run_date"].astype(str)) == {DAYS[1]}
    assert (home / "reports" / "dashboard.html").is_file()


def test_backfill_equals_one_by_one_in_any_order(tmp_path_factory, landing):
    """Backfill path: one Spark job for the range, then the runs (which skip Spark). One by
    one: each run submits its own Spark job (force_clean), dates in reverse order."""
    from shopflow import airflow_local, pipeline

    states = {}
    for name in ("backfill", "reverse"):
        home = tmp_path_factory.mktemp(f"e2e-{name}")
        seed_home(home, landing)
        with pytest.MonkeyPatch.context() as mp:
            use_home(mp, home)
            airflow_local.prepare_metadata_db()
            if name == "backfill":
                assert pipeline.clean_range(DAYS[0], DAYS[-1]) == DAYS
                assert not any(pipeline.clean_needed(d) for d in DAYS)
                airflow_local.run_daily(DAYS)
            else:
                airflow_local.run_daily(DAYS[::-1], force_clean=True)
            states[name] = state(home)
            states[name + "_manifests"] = [
                {k: v for k, v in manifest(home, d).items() if k not in ("source", "started_at", "finished_at")}
                for d in DAYS
            ]
    assert states["backfill_manifests"] == states["reverse_manifests"]
    for table in WAREHOUSE_TABLES:
        pd.testing.assert_frame_equal(states["backfill"][table], states["reverse"][table], check_like=True, obj=table)


def test_a_date_whose_every_row_is_quarantined_fails_its_run(tmp_path_factory, landing):
    """An export written with float ids (1000.0), landed without --repair-float-ids: every row
    is quarantined, and the daily run fails on the data tests instead of reporting success over
    an empty day (a failed dbt build used to become a skipped producer and a successful run)."""
    import csv
    import gzip

    from shopflow import airflow_local
    from shopflow.errors import JobFailed

    home = tmp_path_factory.mktemp("e2e-float-ids")
    seed_home(home, landing)
    day = DAYS[0]
    path = home / "landing" / f"{day}.csv.gz"
    with gzip.open(landing / f"{day}.csv.gz", "rt", newline="") as src:
        rows = list(csv.reader(src))
    ids = [rows[0].index(c) for c in ("product_id", "category_id", "user_id")]
    with gzip.open(path, "wt", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(rows[0])
        for row in rows[1:]:
            writer.writerow([f"{v}.0" if i in ids and v else v for i, v in enumerate(row)])
    with pytest.MonkeyPatch.context() as mp:
        use_home(mp, home)
        airflow_local.prepare_metadata_db()
        with pytest.raises(JobFailed, match=f"shopflow_daily failed for {day}"):
            airflow_local.run_daily([day])
        # The dashboard's record of the checks names the failed one and what to do.
        failed = state(home)["dq_results"].query("status != 'pass'")
    assert failed["check_name"].tolist() == ["quarantine_share"]
    assert "--repair-float-ids" in failed["details"].iloc[0]
    m = manifest(home, day)
    assert m["rows_in"] == len(rows) - 1 and m["rows_valid"] == 0
    assert m["rows_quarantined"] == m["quarantined_by_reason"]["non_integer_id"] == m["rows_in"] - m["duplicates_dropped"]
