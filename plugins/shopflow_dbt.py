"""The dbt project in sql/ as Airflow tasks, rendered by Cosmos from a precomputed manifest.

``marts_task_group`` is called by dags/shopflow_daily.py. Rendering reads
``sql/target/manifest.json`` (written by ``dbt parse``: ``make dbt``, run by ``make demo`` and
``make test``), so parsing the DAG never starts dbt. Tasks call the dbt of ``.venv-dbt``
(``dbt_executable_path``): dbt cannot share the Airflow environment.

Execution mode (``SHOPFLOW_DBT_EXECUTION_MODE``): ``watcher`` (default) runs one ``dbt build``
per run in a producer task and shows each model and test as its own task after it, which
reports the status dbt gave it; ``local`` starts a dbt process per model and per test. Measured on the demo
month (docs/warehouse.md, "Running the marts from Airflow"): a dbt process costs seconds before
it does any work, so watcher is the default.

The run settings (run date, the event dates and as-of snapshots to rebuild) come from the
``plan_marts`` task's XCom and reach dbt as SHOPFLOW_DBT_* environment variables.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
PROJECT_DIR = REPO_ROOT / "sql"
MANIFEST = PROJECT_DIR / "target" / "manifest.json"
#: The run settings the dbt project reads (sql/macros/run_dates.sql).
RUN_SETTINGS = ("SHOPFLOW_DBT_RUN_DATE", "SHOPFLOW_DBT_WINDOW_DAYS", "SHOPFLOW_DBT_EVENT_DATES",
                "SHOPFLOW_DBT_AS_OF_WINDOWS")
EXECUTION_MODES = ("watcher", "local")


def dbt_executable() -> Path:
    return Path(os.environ.get("SHOPFLOW_DBT_VENV") or REPO_ROOT / ".venv-dbt") / "bin" / "dbt"


def execution_mode() -> str:
    mode = (os.environ.get("SHOPFLOW_DBT_EXECUTION_MODE") or "watcher").lower()
    if mode not in EXECUTION_MODES:
        raise ValueError(f"SHOPFLOW_DBT_EXECUTION_MODE must be one of {', '.join(EXECUTION_MODES)}, not {mode!r}")
    return mode


def marts_task_group(settings, plan_task_id: str = "plan_marts", group_id: str = "marts"):
    """A Cosmos DbtTaskGroup building the marts and running the data tests of the run's date.

    The task that runs dbt (the watcher producer; in local mode every task) is in the
    shopflow_warehouse pool like plan_marts and record_marts around the group: DuckDB has one
    writer, and a producer that met another run's load failed, and was then skipped on its retry
    (Cosmos does not retry a producer). The per-model tasks after the producer only report what
    dbt said and stay out of the pool.
    """
    from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
    from cosmos.constants import ExecutionMode, InvocationMode, LoadMode, TestBehavior

    from shopflow.dbt import LOCATION_SETTINGS, dbt_env
    from shopflow.pipeline import WAREHOUSE_POOL

    mode = execution_mode()
    # Settings known at parse time (profile, paths, telemetry off) plus the plan's run settings,
    # templated from its XCom when the task runs.
    env = {k: v for k, v in dbt_env(settings).items() if k not in ("DBT_PROJECT_DIR",)}
    env.update({k: f"{{{{ ti.xcom_pull(task_ids='{plan_task_id}')['env']['{k}'] }}}}"
                for k in (*RUN_SETTINGS, *LOCATION_SETTINGS)})
    operator_args = {"env": env, "append_env": True, "install_deps": False}
    if mode == "local":
        operator_args["pool"] = WAREHOUSE_POOL
    if mode == "watcher":
        # In-process runs (dag.test) poll XCom: a short interval, no triggerer needed.
        operator_args.update({"poke_interval": 1, "deferrable": False})
    group = DbtTaskGroup(
        group_id=group_id,
        project_config=ProjectConfig(dbt_project_path=PROJECT_DIR, manifest_path=MANIFEST,
                                     partial_parse=True),
        profile_config=ProfileConfig(profile_name="shopflow", target_name=settings.warehouse,
                                     profiles_yml_filepath=PROJECT_DIR / "profiles.yml"),
        execution_config=ExecutionConfig(
            execution_mode=ExecutionMode.WATCHER if mode == "watcher" else ExecutionMode.LOCAL,
            invocation_mode=InvocationMode.SUBPROCESS,
            dbt_executable_path=str(dbt_executable()),
        ),
        render_config=RenderConfig(load_method=LoadMode.DBT_MANIFEST,
                                   test_behavior=TestBehavior.AFTER_EACH if mode == "watcher" else TestBehavior.AFTER_ALL,
                                   emit_datasets=False, enable_mock_profile=False),
        operator_args=operator_args,
    )
    if mode == "watcher":
        # The per-model tasks wait for the producer: with them beside it, an executor that runs
        # one task at a time (dag.test, `shopflow demo`) could start a sensor first and wait for
        # ever. After it, each still reports the status dbt gave its model.
        producer = next(t for t in group.iter_tasks() if type(t).__name__ == "DbtProducerWatcherOperator")
        producer.pool = WAREHOUSE_POOL
        # Cosmos skips a producer's second try (one dbt build per run). With a retry, a failed
        # build (a data test that failed, a lock) became a skipped producer and skipped tasks after
        # it: the run succeeded with no marts. Without one the run fails, naming dbt's error.
        producer.retries = 0
        for task in group.iter_tasks():
            if task is not producer and type(task).__name__.startswith("Dbt"):
                producer >> task
    return group
