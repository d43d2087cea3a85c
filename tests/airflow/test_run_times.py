"""Runs made in-process (the demo's ``dag.test``) carry their real start and end, read back
through Airflow's models as the UI and the REST API read them: a run for 2019-11-01 made
today lasts seconds, not the years since its logical date."""

from __future__ import annotations

import datetime as dt
import time

import pendulum


DAG_FILE = """
import time
import pendulum
from airflow.sdk import DAG, task

with DAG("shopflow_test_run_times", schedule=None, start_date=pendulum.datetime(2019, 10, 1, tz="UTC"),
         catchup=False, tags=["test"]) as dag:

    @task(retries=0)
    def wait_a_second():
        time.sleep(1.0)

    wait_a_second()
"""


def registered_dag(folder, source: str, dag_id: str):
    """The DAG of ``source``, parsed and stored in the metadata DB as the dag-processor would."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db

    from shopflow import airflow_local

    airflow_local.prepare_metadata_db()
    (folder / f"{dag_id}.py").write_text(source)
    bag = DagBag(dag_folder=str(folder))
    assert bag.import_errors == {}
    DagBundlesManager().sync_bundles_to_db()
    sync_bag_to_db(bag, "dags-folder", None)
    return bag.dags[dag_id]


def test_an_in_process_run_records_its_real_start_and_end(tmp_path):
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    from shopflow import airflow_local

    dag = registered_dag(tmp_path, DAG_FILE, "shopflow_test_run_times")

    before = dt.datetime.now(dt.timezone.utc)
    run = airflow_local.test_run(dag, logical_date=pendulum.datetime(2019, 11, 1, tz="UTC"))
    after = dt.datetime.now(dt.timezone.utc)
    assert str(run.state).split(".")[-1].lower() == "success"

    with create_session() as session:
        stored = session.scalars(
            select(DagRun).where(DagRun.dag_id == "shopflow_test_run_times", DagRun.run_id == run.run_id)
        ).one()
        assert stored.logical_date.date() == dt.date(2019, 11, 1)
        assert before <= stored.start_date < stored.end_date <= after
        # The task sleeps one second; the run is its one task, so it lasts at least that.
        assert dt.timedelta(seconds=1) <= stored.end_date - stored.start_date < after - before


LEAKY_DAG_FILE = """
import os
import pendulum
from airflow.sdk import DAG, task

with DAG("shopflow_test_env_leak", schedule=None, start_date=pendulum.datetime(2019, 10, 1, tz="UTC"),
         catchup=False, tags=["test"]) as dag:

    @task(retries=0)
    def copy_env_like_cosmos_lineage():
        # What Cosmos's lineage step does with a dbt task's env after dbt ran.
        os.environ["SHOPFLOW_DUCKDB_PATH"] = "/another/home/warehouse.duckdb"
        os.environ["SHOPFLOW_DBT_RUN_DATE"] = "2019-11-30"

    copy_env_like_cosmos_lineage()
"""


def test_an_in_process_run_leaves_the_environment_as_it_found_it(tmp_path, monkeypatch):
    import os

    from shopflow import airflow_local

    monkeypatch.delenv("SHOPFLOW_DUCKDB_PATH", raising=False)
    monkeypatch.setenv("SHOPFLOW_DBT_RUN_DATE", "2019-11-02")
    dag = registered_dag(tmp_path, LEAKY_DAG_FILE, "shopflow_test_env_leak")

    run = airflow_local.test_run(dag, logical_date=pendulum.datetime(2019, 11, 1, tz="UTC"))
    assert str(run.state).split(".")[-1].lower() == "success"
    assert "SHOPFLOW_DUCKDB_PATH" not in os.environ
    assert os.environ["SHOPFLOW_DBT_RUN_DATE"] == "2019-11-02"
