"""The team stack of docker-compose.yaml, run as real processes on loopback (shopflow.stack):
PostgreSQL, the four Airflow services with LocalExecutor, a Spark standalone master and worker,
MLflow with a PostgreSQL store and basic auth. Through the REST API with a login, three daily
runs at once, then training; every run succeeds, no task meets a lock, Spark ran on the
standalone master, MLflow serves runs and the champion only to a logged-in client."""

from __future__ import annotations

import datetime as dt
import os
import time

import pytest

from shopflow import generate
from shopflow.stack import TRICKY, Stack, http

DAYS = ["2019-11-01", "2019-11-02", "2019-11-03"]
# The e2e tier's sample: small, and ALS beats popularity on it, so a champion exists.
SAMPLE = generate.GeneratorConfig(
    start=dt.date(2019, 11, 1), days=3, events_per_day=4_000, users=1_500, products=1_000, seed=5
)
#: Minutes the runs may take once the stack is up (the tier's budget is 10 minutes on a quiet
#: 2-core machine); SHOPFLOW_STACK_RUNS_MINUTES allows more on a shared one.
RUNS_DEADLINE_S = 60 * float(os.environ.get("SHOPFLOW_STACK_RUNS_MINUTES") or 7.5)
LOCK_SIGNS = ("Could not set lock", "cannot open the DuckDB warehouse", "Conflicting lock")


@pytest.fixture(scope="module")
def stack(run_dir):
    root = run_dir / "stack"
    generate.generate(SAMPLE, root / "home" / "landing", workers=1, log=lambda *_: None)
    # The only setting added to compose's: no scheduled run of shopflow_daily while the test
    # runs (its first date is tomorrow); the test's runs name their date in the `date` param.
    tomorrow = (dt.datetime.now(dt.timezone.utc).date() + dt.timedelta(days=1)).isoformat()
    started = time.monotonic()
    stack = Stack(root, airflow_overrides={"SHOPFLOW_START_DATE": tomorrow})
    with stack:
        print(f"stack up in {time.monotonic() - started:.0f} s")
        yield stack
    assert all(p.poll() is not None for p in stack.procs.values())
    assert stack.stragglers() == []


@pytest.fixture(scope="module")
def token(stack):
    user, password = stack.admin("airflow-init", "AIRFLOW_ADMIN")
    assert password.endswith(TRICKY)  # the password file survived quotes and a backslash
    return stack.airflow_login(user, password)


def _runs(stack, token, dag_id: str) -> list[dict]:
    status, body = http("GET", f"{stack.api_url}/api/v2/dags/{dag_id}/dagRuns?limit=100", token=token)
    assert status == 200, body
    return body["dag_runs"]


@pytest.fixture(scope="module")
def finished(stack, token):
    api = stack.api_url
    assert http("GET", f"{api}/api/v2/dags", token=None)[0] == 401
    deadline = time.monotonic() + 120
    while http("GET", f"{api}/api/v2/dags/shopflow_training", token=token)[0] != 200 or \
            http("GET", f"{api}/api/v2/dags/shopflow_daily", token=token)[0] != 200:
        assert time.monotonic() < deadline, "the dag-processor did not deliver both DAGs"
        time.sleep(2)
    for dag_id in ("shopflow_daily", "shopflow_training"):
        status, body = http("PATCH", f"{api}/api/v2/dags/{dag_id}", {"is_paused": False}, token=token)
        assert status == 200, body
    for day in DAYS:  # three at once; max_active_runs=2 and the one-slot pool order them
        status, body = http("POST", f"{api}/api/v2/dags/shopflow_daily/dagRuns",
                            {"logical_date": None, "conf": {"date": day}}, token=token)
        assert status == 200, body

    started = time.monotonic()
    quiet_since = None
    while True:
        daily = _runs(stack, token, "shopflow_daily")
        training = _runs(stack, token, "shopflow_training")
        done = lambda runs: all(r["state"] in ("success", "failed") for r in runs)  # noqa: E731
        if len(daily) == 3 and done(daily) and training and done(training):
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since > 20:  # no further asset-triggered training run
                break
        else:
            quiet_since = None
        if any(r["state"] == "failed" for r in daily + training):
            break
        assert time.monotonic() - started < RUNS_DEADLINE_S, (
            f"runs not finished: daily {[r['state'] for r in daily]}, training {[r['state'] for r in training]}")
        time.sleep(5)
    return daily, training


def test_every_run_succeeds_and_no_task_met_a_lock(stack, token, finished):
    daily, training = finished
    assert sorted(r["conf"]["date"] for r in daily) == DAYS
    assert [r["state"] for r in daily] == ["success"] * 3
    assert training and [r["state"] for r in training] == ["success"] * len(training)
    for run in daily + training:
        status, body = http("GET", f"{stack.api_url}/api/v2/dags/{run['dag_id']}/dagRuns/{run['dag_run_id']}"
                                   "/taskInstances", token=token)
        assert status == 200, body
        for ti in body["task_instances"]:
            assert ti["state"] in ("success", "skipped"), ti
            # One try each (a skipped branch never ran): no task failed, on a lock or otherwise.
            assert ti["try_number"] == (1 if ti["state"] == "success" else 0), \
                f"{ti['task_id']} of {run['dag_run_id']} was retried"
    for log in (stack.root / "airflow" / "logs").rglob("*.log"):
        text = log.read_text(errors="replace")
        assert not any(sign in text for sign in LOCK_SIGNS), log


def test_spark_jobs_ran_on_the_standalone_master(stack, finished):
    status, master = http("GET", f"{stack.spark_ui_url}/json/")
    assert status == 200
    assert master["url"] == f"spark://127.0.0.1:{stack.ports['spark']}"
    # One application per daily run (the job names its session shopflow-clean), on the worker.
    assert [app["name"] for app in master["completedapps"]] == ["shopflow-clean"] * 3
    assert all(app["cores"] >= 1 and app["state"] == "FINISHED" for app in master["completedapps"])
    assert master["activeapps"] == []


def test_mlflow_holds_runs_and_champion_for_a_logged_in_client_only(stack, finished):
    url = stack.mlflow_url
    login = stack.admin("mlflow", "MLFLOW_AUTH_ADMIN")
    for name in ("shopflow-als", "shopflow-content"):
        status, body = http("GET", f"{url}/api/2.0/mlflow/experiments/get-by-name?experiment_name={name}", basic=login)
        assert status == 200, body
        experiment = body["experiment"]["experiment_id"]
        status, body = http("POST", f"{url}/api/2.0/mlflow/runs/search", {"experiment_ids": [experiment]}, basic=login)
        assert status == 200, body
        assert body["runs"] and all(r["info"]["status"] == "FINISHED" for r in body["runs"])
    status, body = http("GET", f"{url}/api/2.0/mlflow/registered-models/alias?name=shopflow-als&alias=champion",
                        basic=login)
    assert status == 200, body
    version = body["model_version"]["version"]
    # Without a login: no read, and nobody moves the champion.
    assert http("GET", f"{url}/api/2.0/mlflow/experiments/search?max_results=5")[0] == 401
    status, _ = http("POST", f"{url}/api/2.0/mlflow/registered-models/alias",
                     {"name": "shopflow-als", "alias": "champion", "version": "1"})
    assert status == 401
    assert http("GET", f"{url}/api/2.0/mlflow/registered-models/alias?name=shopflow-als&alias=champion",
                basic=login)[1]["model_version"]["version"] == version
    # The tasks call http://mlflow:5000 in compose: that Host header passes, a foreign one does not.
    probe = f"{url}/api/2.0/mlflow/experiments/get-by-name?experiment_name=shopflow-als"
    assert http("GET", probe, basic=login, headers={"Host": "mlflow:5000"})[0] == 200
    assert http("GET", probe, basic=login, headers={"Host": "evil.example:5000"})[0] == 403


def test_telemetry_off_in_every_stack_process(stack):
    from shopflow.runtime import TELEMETRY_OFF

    # The environment each process was started with (Airflow's process titles overwrite
    # /proc/PID/environ, so the launch record is the reliable one).
    services = [name for name in stack.procs if name != "postgres"]
    assert len(services) == 7
    for name in services:
        env = stack.launched[name]
        assert {k: env.get(k) for k in TELEMETRY_OFF} == TELEMETRY_OFF, name
