"""The steps the DAGs run, as plain functions: no Airflow import, usable from a shell.

A DAG task is one call here with the run's date. Each step is a transaction on its date:
rerunning it replaces what it wrote. Heavy libraries are imported inside the functions, so
importing this module (which DAG files do) stays cheap.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from pathlib import Path
from typing import Any, Mapping

from shopflow.config import Settings, get_settings
from shopflow.dates import as_date
from shopflow.queries import query_sql

log = logging.getLogger("shopflow.pipeline")

#: Airflow pool for every task that writes to the warehouse: DuckDB has a single writer.
WAREHOUSE_POOL = "shopflow_warehouse"
#: Asset announced when a date's marts are fresh and checked; the training DAG waits on it.
MARTS_ASSET_NAME = "shopflow_marts"
MARTS_ASSET_URI = "shopflow://warehouse/marts"


def resolve_date(logical_date: Any = None, param: Any = None) -> str:
    """The date a run processes: an explicit ``date`` param wins, else the run's logical date.

    Never the wall clock: a manual run without a logical date must name its date.
    """
    if param not in (None, ""):
        value = param
    elif logical_date is not None:
        value = logical_date
    else:
        raise ValueError("this run has no logical date: trigger it with the 'date' param (YYYY-MM-DD)")
    return as_date(value).isoformat()


class LandingOverdue(RuntimeError):
    """The landing file of a date has not arrived by its deadline."""


def landing_deadline(day: Any, grace_hours: int) -> dt.datetime:
    """When the landing file of ``day`` is due: the end of the day (UTC) plus ``grace_hours``."""
    start = dt.datetime.combine(as_date(day), dt.time(), tzinfo=dt.timezone.utc)
    return start + dt.timedelta(days=1, hours=grace_hours)


def landing_ready(day: str, settings: Settings | None = None, now: dt.datetime | None = None) -> bool:
    """Whether the landing file of ``day`` exists (local folders; GCS uses the GCS sensor).

    A file still missing after its deadline (:func:`landing_deadline`) raises
    :class:`LandingOverdue` instead of waiting on: a date long past will not get its file by
    waiting, and a waiting run holds one of the DAG's active-run slots.
    """
    from shopflow.clean import local_landing_file

    settings = settings or get_settings()
    if local_landing_file(settings.landing, day) is not None:
        return True
    deadline = landing_deadline(day, settings.landing_grace_hours)
    if (now or dt.datetime.now(dt.timezone.utc)) >= deadline:
        raise LandingOverdue(
            f"no landing file for {as_date(day)} in {settings.landing}: it was due by "
            f"{deadline:%Y-%m-%d %H:%M} UTC (SHOPFLOW_LANDING_GRACE_HOURS={settings.landing_grace_hours}). "
            "Put D.csv.gz there (shopflow land splits an export) and clear this task."
        )
    return False


def clean_needed(day: str, force: bool = False, settings: Settings | None = None) -> bool:
    """False when the lake partition was already built from this landing file by this code
    (for instance by a bulk range job before a backfill), unless ``force``."""
    from shopflow.clean import lake_partition_current

    settings = settings or get_settings()
    return bool(force) or not lake_partition_current(settings.landing, settings.lake, day)


def clean_job_arguments(day_or_range, settings: Settings | None = None, dates=None) -> list[str]:
    from shopflow.clean import job_arguments

    settings = settings or get_settings()
    return job_arguments(day_or_range, settings.landing, settings.lake, dates=dates)


def landing_dates(first: str, last: str, settings: Settings | None = None) -> tuple[list[str], list[str]]:
    """The dates of ``first..last`` split into (with a landing file, without one); a gs://
    landing folder cannot be listed here, so every date counts as present."""
    from shopflow.clean import local_landing_file
    from shopflow.config import is_remote
    from shopflow.dates import date_range

    settings = settings or get_settings()
    days = [d.isoformat() for d in date_range(first, last)]
    if is_remote(settings.landing):
        return days, []
    present = [d for d in days if local_landing_file(settings.landing, d) is not None]
    return present, [d for d in days if d not in set(present)]


def clean_range(
    first: str, last: str, settings: Settings | None = None, force: bool = False, on_date=None, on_progress=None
) -> list[str]:
    """Build the lake for the dates of ``first..last`` that have landing files with ONE
    spark-submit (one JVM), skipping the run when every such partition is already current.
    Returns the dates the job (re)built; dates without a landing file are skipped (callers
    name them with :func:`landing_dates`).

    Spark's own output goes to ``$SHOPFLOW_HOME/logs/clean-FIRST-LAST.log``; ``on_date`` is
    called with each date's manifest as the job reports it, ``on_progress(tasks_done,
    tasks_total)`` with the running stages' task counts. A failed job raises JobFailed
    with the job's error message and the log's path."""
    settings = settings or get_settings()
    present, _ = landing_dates(first, last, settings)
    todo = [d for d in present if clean_needed(d, force, settings)]
    if not todo:
        return []
    clean_dates(todo, settings, on_date=on_date, on_progress=on_progress)
    return todo


def clean_dates(todo: list[str], settings: Settings | None = None, on_date=None, on_progress=None,
                as_range: bool = False) -> Path:
    """Clean exactly the dates ``todo`` (each with a landing file) with one spark-submit; see
    :func:`clean_range` for the callbacks and the log. ``as_range``: ask the job for the range
    from the first to the last date instead, which skips the dates without a landing file (for a
    gs:// landing folder, which cannot be listed here). Returns the Spark log's path."""
    import json
    import subprocess
    import sys

    from shopflow.errors import JobFailed
    from shopflow.runtime import REPO_ROOT

    settings = settings or get_settings()
    todo = sorted(todo)
    log_path = Path(settings.home) / "logs" / f"clean-{todo[0]}-{todo[-1]}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    spark_submit = Path(sys.executable).with_name("spark-submit")
    cmd = [
        str(spark_submit),
        "--master", settings.spark_master,
        "--driver-memory", "2g",
        "--conf", "spark.ui.showConsoleProgress=false",
        str(REPO_ROOT / "jobs" / "clean_events.py"),
        *(clean_job_arguments((todo[0], todo[-1]), settings) if as_range else clean_job_arguments(None, settings, dates=todo)),
    ]
    log.info("bulk clean %s..%s (%d dates): %s; Spark log %s", todo[0], todo[-1], len(todo), " ".join(cmd), log_path)
    with open(log_path, "w") as sink:
        sink.write(" ".join(cmd) + "\n")
        sink.flush()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=sink, text=True)
        for line in proc.stdout:
            sink.write(line)
            sink.flush()
            if line.startswith("{"):
                with contextlib.suppress(ValueError):
                    record = json.loads(line)
                    if "progress" in record:
                        if on_progress is not None:
                            on_progress(record["progress"]["tasks_done"], record["progress"]["tasks_total"])
                    elif on_date is not None:
                        on_date(record)
        returncode = proc.wait()
    if returncode != 0:
        error = _last_python_error(log_path.read_text(errors="replace"))
        raise JobFailed(f"the Spark cleaning job failed for {todo[0]}..{todo[-1]}: {error} (Spark log: {log_path})")
    return log_path


def _last_python_error(text: str) -> str:
    """The last ``SomeError: message`` line of a Python traceback in a log, or a pointer to the log."""
    import re

    found = re.findall(r"^(?:[\w.]+\.)?(\w*(?:Error|Exception|Exit|Failed)\w*: .+)$", text, flags=re.MULTILINE)
    return found[-1].strip() if found else "no Python error in the log (exit code only)"


def _failed_checks(text: str) -> str:
    """The data-quality failures dbt reported in a log ("check NAME failed for DATE: ...", raised
    by sql/macros/dq_results.sql and logged by Cosmos as JSON), or "" if none: they say what
    to do, where the task's own error only says that dbt exited non-zero."""
    import re

    found = re.findall(r"(check \w+ failed for \d{4}-\d{2}-\d{2}: .*?)(?:\\n|$)", text, flags=re.MULTILINE)
    return found[-1].replace('\\"', '"').strip() if found else ""


def load_partition(day: str, settings: Settings | None = None) -> int:
    """Replace the warehouse ``events`` partition of ``day`` from the lake (and its manifest)."""
    from shopflow.warehouse import get_warehouse

    settings = settings or get_settings()
    with _measured("load"), get_warehouse(settings) as wh:
        rows = wh.load_events_partition(dt.date.fromisoformat(day), settings.lake)
    log.info("loaded %s rows into events for %s", rows, day)
    return rows


def record_manifest(day: str, settings: Settings | None = None) -> int:
    """Google Cloud: record D's manifest after the GCS-to-BigQuery operator loaded ``events$D``."""
    from shopflow.warehouse import get_warehouse

    settings = settings or get_settings()
    with get_warehouse(settings) as wh:
        return wh.record_manifest(dt.date.fromisoformat(day), settings.lake)


def build_marts(day: str, settings: Settings | None = None) -> dict:
    from shopflow import marts
    from shopflow.warehouse import get_warehouse

    settings = settings or get_settings()
    with _measured("marts"), get_warehouse(settings) as wh:
        result = marts.build_marts(wh, dt.date.fromisoformat(day))
    return _jsonable(result)


def plan_marts(day: str, as_of_from: str | None = None, settings: Settings | None = None) -> dict:
    """What the dbt run of D rebuilds (shopflow.marts.plan_marts), as an XCom: its ``env`` holds
    the run settings the Cosmos dbt tasks pass to dbt. ``as_of_from``: also build the as-of
    snapshots of every date from then to D (after runs that deferred their marts)."""
    from shopflow import marts
    from shopflow.dates import date_range
    from shopflow.warehouse import get_warehouse

    settings = settings or get_settings()
    as_of = [d for d in date_range(as_of_from, day)] if as_of_from else []
    with get_warehouse(settings) as wh:
        return marts.plan_to_dict(marts.plan_marts(wh, dt.date.fromisoformat(day), as_of_dates=as_of))


def record_marts(plan: dict, settings: Settings | None = None) -> str:
    """After the dbt run of a plan succeeded: record which loads the marts were built from."""
    from shopflow import marts
    from shopflow.warehouse import get_warehouse

    from shopflow.report import snapshot

    settings = settings or get_settings()
    with get_warehouse(settings) as wh:
        marts.record_marts(wh, marts.plan_from_dict(plan))
        snapshot.export(wh, plan["run_date"], settings)  # the report then reads without the slot
    return plan["run_date"]


def latest_loaded_date(settings: Settings | None = None) -> str:
    """The newest event_date in the warehouse."""
    from shopflow.warehouse import get_warehouse

    settings = settings or get_settings()
    with get_warehouse(settings) as wh:
        if not wh.table_exists("events"):
            raise RuntimeError("the warehouse has no events yet: run shopflow_daily first")
        frame = wh.query(query_sql("events/latest_date"))
    value = frame["latest_date"].iloc[0]
    if value is None or value != value:  # None or NaT
        raise RuntimeError("the events table is empty: run shopflow_daily first")
    return resolve_date(value)


def training_date(param: Any = None, asset_dates: list | None = None, settings: Settings | None = None) -> str:
    """The run date of a training run: the param, else the newest date announced by the
    triggering asset events, else the newest date loaded."""
    if param not in (None, ""):
        return resolve_date(param=param)
    if asset_dates:
        return max(resolve_date(param=d) for d in asset_dates)
    return latest_loaded_date(settings)


def train_als(run_date: str, params: Mapping[str, Any], sweep: bool = False, settings: Settings | None = None) -> dict:
    from shopflow import train

    with _measured("train_als") as usage:
        result = train.train_als(run_date, dict(params), sweep=sweep, settings=settings)
    return _jsonable(_with_usage(result, usage, settings, runs=[result.get("run_id"), result.get("parent_run_id")]))


def train_content(run_date: str, params: Mapping[str, Any] | None = None, settings: Settings | None = None) -> dict:
    from shopflow import train

    with _measured("train_content") as usage:
        result = train.train_content(run_date, dict(params or {}), settings=settings)
    return _jsonable(_with_usage(result, usage, settings, runs=[result.get("run_id")]))


def publish(run_date: str, settings: Settings | None = None) -> dict:
    from shopflow import publish as publish_module

    settings = settings or get_settings()
    with _measured("publish") as usage:
        result = publish_module.publish_recommendations(run_date, settings=settings)
        if settings.warehouse == "duckdb":
            # Still in the warehouse slot: refresh the export the report task reads without it.
            from shopflow.report import snapshot
            from shopflow.warehouse import get_warehouse

            with get_warehouse(settings) as wh:
                snapshot.export(wh, run_date, settings)
    return _jsonable(_with_usage(result, usage))


def build_report(day: str | None = None, settings: Settings | None = None) -> str:
    """Redraw the dashboard for the period ending on ``day`` (the latest when None).

    On DuckDB it reads the export that ``record_marts`` or ``publish`` wrote for ``day`` while
    they held the warehouse slot (:mod:`shopflow.report.snapshot`), so the DAGs' report task
    takes no slot and meets no lock; without an export it reads the warehouse."""
    from shopflow import report
    from shopflow.report import snapshot

    settings = settings or get_settings()
    with _measured("report"):
        exported = snapshot.reader(day, settings) if day else None
        if exported is None:
            if day and settings.warehouse == "duckdb":
                log.warning("no dashboard export for %s: reading the warehouse itself", day)
            return str(report.build_report(settings, as_of=day))
        with exported:
            return str(report.build_report(settings, as_of=day, warehouse=exported))


def _measured(name: str):
    from shopflow.resources import measured

    return measured(name)


def _with_usage(result: dict, usage, settings: Settings | None = None, runs=()) -> dict:
    """The task's wall time and peak RSS in its result (XCom) and, for training steps, as
    MLflow metrics ``task_seconds`` and ``task_peak_rss_mb`` of its runs (comparable in the UI)."""
    metrics = usage.metrics("task")
    run_ids = [r for r in runs if r]
    if run_ids:
        from shopflow import tracking

        client = tracking.connect(settings or get_settings())
        for run_id in run_ids:
            tracking.log_metrics(client, run_id, metrics)
    return {**result, **metrics}


def log_failure(context: Mapping[str, Any]) -> None:
    """Failure callback: one line naming the task, the date it processed and the error."""
    ti = context.get("task_instance") or context.get("ti")
    dag_id = getattr(ti, "dag_id", "?")
    task_id = getattr(ti, "task_id", "?")
    params = context.get("params") or {}
    day = params.get("date") or params.get("run_date") or context.get("ds") or context.get("logical_date") or "no date"
    log.error("shopflow: %s.%s failed for %s (try %s): %s", dag_id, task_id, day,
              getattr(ti, "try_number", "?"), context.get("exception"))


def _jsonable(value: Any) -> Any:
    """XCom-safe copy of a result: dates as text, numpy numbers as plain numbers, and NaN or
    infinite floats as None (Airflow's API server refuses them in JSON)."""
    import json
    import math

    def clean(item: Any) -> Any:
        if isinstance(item, float) and not math.isfinite(item):
            return None
        if isinstance(item, dict):
            return {key: clean(val) for key, val in item.items()}
        if isinstance(item, list):
            return [clean(val) for val in item]
        return item

    return clean(json.loads(json.dumps(value, default=_plain)))


def _plain(item: Any) -> Any:
    """json.dumps fallback: numpy scalars and arrays as Python values, anything else as text."""
    if hasattr(item, "tolist"):
        return item.tolist()
    return str(item)
