"""The local Airflow stack: ``shopflow airflow standalone | backfill | run | mlflow-ui``.

* ``standalone`` (``make airflow``): migrates the metadata DB under $SHOPFLOW_HOME/airflow,
  creates the warehouse pool, prints the UI address and where the admin password is, then
  runs ``airflow standalone`` with this repo's DAGs and plugins, examples off, and the
  ``spark_default`` connection from the environment.
* ``backfill`` (``make backfill FROM=.. TO=..``): builds the lake for the range with ONE
  Spark job, starts ``airflow standalone`` in the background if no API server answers,
  unpauses ``shopflow_daily``, queues ``airflow backfill create`` and waits, printing progress.
* ``run``: runs ``shopflow_daily`` for each date of a range in this process with
  ``dag.test`` (no scheduler), then optionally ``shopflow_training``; ``make demo`` uses it.
* ``dashboard`` (``make dashboard``): writes the dashboard and prints its address on the Airflow
  API server (the plugin's page), starting ``airflow standalone`` in the background if needed.
* ``mlflow-ui`` (``make mlflow``): the MLflow UI on the same tracking store.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from shopflow.config import get_settings
from shopflow.dates import as_date, date_range, describe
from shopflow.errors import JobFailed, UserError

API_URL = "http://127.0.0.1:8080"


def _airflow_bin() -> str:
    return str(Path(sys.executable).with_name("airflow"))


def prepare_metadata_db() -> None:
    """Create or migrate the Airflow metadata DB and the warehouse pool (idempotent)."""
    from airflow.models.pool import Pool
    from airflow.utils import db

    from shopflow.pipeline import WAREHOUSE_POOL

    Path(os.environ["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    with _quiet():
        db.upgradedb()
        Pool.create_or_update_pool(
            WAREHOUSE_POOL, slots=1, description="DuckDB has one writer: warehouse tasks take turns", include_deferred=False
        )


@contextlib.contextmanager
def _quiet(log_path: Path | None = None):
    """Send this process's stdout/stderr (Airflow's task logging) to a file while inside."""
    log_path = log_path or Path(os.environ["AIRFLOW_HOME"]) / "logs" / "shopflow-cli.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(log_path, "ab") as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            yield log_path
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def _log_size() -> int:
    path = Path(os.environ["AIRFLOW_HOME"]) / "logs" / "shopflow-cli.log"
    return path.stat().st_size if path.is_file() else 0


def _error_since(log_path: Path, offset: int) -> str:
    """Why a run failed, from what it wrote to the CLI log after ``offset``: the data-quality
    checks dbt failed, if any, otherwise the last Python error (its first failed task's cause)."""
    from shopflow.pipeline import _failed_checks, _last_python_error

    with open(log_path, "rb") as handle:
        handle.seek(offset)
        text = handle.read().decode("utf-8", "replace")
    return _failed_checks(text) or _last_python_error(text)


def _say(text: str) -> None:
    print(text, flush=True)


def load_dag(dag_id: str):
    from airflow.utils.cli import get_bagged_dag

    with _quiet():
        return get_bagged_dag(None, dag_id)


def check_start_date(first: str) -> None:
    """Airflow creates no task for a logical date before the DAG's start: refuse such dates."""
    start = get_settings().start_date
    if as_date(first) < start:
        raise UserError(
            f"{first} is before shopflow_daily's start date {start}, so Airflow would run no task for it: "
            f"set SHOPFLOW_START_DATE={as_date(first)} (for example for the public 2019-Oct file)"
        )


def test_run(dag, **kwargs):
    """``dag.test(**kwargs)`` with the run's real start and end recorded.

    ``dag.test`` gives its run the logical date as start date, so the UI and the REST API
    showed a 2019 run as lasting years. The run's start and end become those of its task
    instances (the wall clock around the call if it ran none)."""
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import func, select, update

    started = dt.datetime.now(dt.timezone.utc)
    # Cosmos's lineage step copies each dbt task's environment into os.environ
    # (LocalOperator.calculate_openlineage_events_completes). Airflow gives every task a process
    # of its own; dag.test runs them all in this one, where the copy would outlive the run (and
    # point a later run under another SHOPFLOW_HOME at this run's warehouse): put it back.
    saved = dict(os.environ)
    try:
        run = dag.test(**kwargs)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    finished = dt.datetime.now(dt.timezone.utc)
    if run is None:
        return run
    with create_session() as session:
        first, last = session.execute(
            select(func.min(TaskInstance.start_date), func.max(TaskInstance.end_date))
            .where(TaskInstance.dag_id == run.dag_id, TaskInstance.run_id == run.run_id)
        ).one()
        start, end = first or started, last or finished
        session.execute(
            update(DagRun).where(DagRun.dag_id == run.dag_id, DagRun.run_id == run.run_id)
            .values(start_date=start, end_date=end)
        )
    run.start_date, run.end_date = start, end
    return run


def run_daily(dates: list[str], force_clean: bool = False, defer_marts: bool = False) -> list[tuple[str, str, float]]:
    """Run ``shopflow_daily`` for each date in this process, with a progress bar over the
    dates; stop at the first failure. ``defer_marts``: every run but the last only loads its
    date and the last builds the marts of them all (an as-of snapshot per date) in one dbt
    build: one dbt start instead of one per date, the same tables."""
    from shopflow.progress import steps

    check_start_date(min(dates))
    dag = load_dag("shopflow_daily")
    results = []
    with steps("shopflow_daily", len(dates)) as done:
        for i, day in enumerate(dates, 1):
            results.append(_run_one_day(dag, day, force_clean, _marts_conf(defer_marts, i, dates)))
            _, state, seconds = results[-1]
            done(f"  shopflow_daily {day}: {state} in {seconds:.1f} s")
    return results


def _run_one_day(dag, day: str, force_clean: bool, conf: dict | None = None) -> tuple[str, str, float]:
    import pendulum

    started = time.perf_counter()
    log_start = _log_size()
    with _quiet() as log_path:
        run = test_run(dag, logical_date=pendulum.parse(day).in_timezone("UTC"),
                       run_conf={"date": day, "force_clean": force_clean, **(conf or {})})
    seconds = time.perf_counter() - started
    state = str(getattr(run, "state", "unknown")).split(".")[-1].lower()
    if state != "success":
        raise JobFailed(f"shopflow_daily failed for {day}: {_error_since(log_path, log_start)}; "
                        f"task logs in {log_path}")
    return day, state, seconds


def _marts_conf(defer: bool, i: int, dates: list[str]) -> dict:
    # Both keys every time: dag.test keeps the params of the previous run of the same DAG object.
    if not defer or len(dates) < 2:
        return {"defer_marts": False, "marts_from": None}
    if i < len(dates):
        return {"defer_marts": True, "marts_from": None}
    return {"defer_marts": False, "marts_from": min(dates)}


def run_training(run_date: str | None = None, conf: dict | None = None) -> tuple[str, float]:
    dag = load_dag("shopflow_training")
    started = time.perf_counter()
    log_start = _log_size()
    with _quiet() as log_path:
        run = test_run(dag, logical_date=None, run_conf={"run_date": run_date, **(conf or {})})
    seconds = time.perf_counter() - started
    state = str(getattr(run, "state", "unknown")).split(".")[-1].lower()
    _say(f"  shopflow_training {run_date or ''}: {state} in {seconds:.1f} s")
    if state != "success":
        raise JobFailed(f"shopflow_training failed: {_error_since(log_path, log_start)}; task logs in {log_path}")
    return state, seconds


def api_up(url: str = API_URL) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/api/v2/monitor/health", timeout=3) as response:
            return response.status == 200
    except OSError:
        return False


def start_standalone_background() -> subprocess.Popen:
    log_path = Path(os.environ["AIRFLOW_HOME"]) / "standalone.log"
    _say(f"starting airflow standalone in the background (log: {log_path})")
    _local_stack_defaults()
    with open(log_path, "ab") as log_file:
        proc = subprocess.Popen([_airflow_bin(), "standalone"], stdout=log_file, stderr=subprocess.STDOUT,
                                start_new_session=True)
    _pid_file().write_text(str(proc.pid))
    for _ in range(180):
        if api_up():
            _say(f"airflow standalone is up (pid {proc.pid}); it keeps running: stop it with `make airflow-stop`")
            return proc
        if proc.poll() is not None:
            raise JobFailed(f"airflow standalone exited ({proc.returncode}); see {log_path}")
        time.sleep(2)
    raise JobFailed(f"airflow standalone did not answer on {API_URL} within 6 minutes; see {log_path}")


def _pid_file() -> Path:
    return Path(os.environ["AIRFLOW_HOME"]) / "standalone.pid"


def stop() -> int:
    """Stop an ``airflow standalone`` started in the background by ``backfill``."""
    import signal

    pid_file = _pid_file()
    if not pid_file.is_file():
        _say("no background airflow standalone recorded")
        return 0
    pid = int(pid_file.read_text())
    try:
        os.killpg(pid, signal.SIGTERM)
        _say(f"stopped airflow standalone (process group {pid})")
    except ProcessLookupError:
        _say("airflow standalone was not running")
    pid_file.unlink()
    return 0


def date_segments(days) -> list[tuple[str, str]]:
    """Runs of consecutive dates as (first, last): 10-01, 10-02, 10-31 -> (10-01, 10-02), (10-31, 10-31)."""
    segments: list[list[dt.date]] = []
    for day in sorted({as_date(d) for d in days}):
        if segments and (day - segments[-1][1]).days == 1:
            segments[-1][1] = day
        else:
            segments.append([day, day])
    return [(a.isoformat(), b.isoformat()) for a, b in segments]


def backfill(first: str, last: str, prebuild_lake: bool = True, poll: float = 10.0) -> int:
    """Backfill the dates of ``first..last`` that have landing files; name the ones that have none."""
    from shopflow import pipeline

    days, missing = pipeline.landing_dates(first, last)
    if not days:
        raise UserError(f"no landing file in {get_settings().landing} for any date of {first}..{last}: "
                        "land an export first (shopflow land SRC)")
    if missing:
        _say(f"no landing file for {describe(missing)}: those dates are not backfilled")
    check_start_date(days[0])
    prepare_metadata_db()
    if prebuild_lake and get_settings().deployment == "local":
        started = time.perf_counter()
        _say(f"building the lake for {describe(days)} with one Spark job ...")
        from shopflow.progress import spark_job

        with spark_job("Spark", len(days)) as (on_progress, on_date):
            built = pipeline.clean_range(first, last, on_date=on_date, on_progress=on_progress)
        _say(f"  {len(built)} partitions (re)built in {time.perf_counter() - started:.0f} s; the DAG runs skip Spark for them")
    if not api_up():
        start_standalone_background()
    env = dict(os.environ)
    subprocess.run([_airflow_bin(), "dags", "reserialize"], env=env, check=True, capture_output=True)
    subprocess.run([_airflow_bin(), "dags", "unpause", "shopflow_daily"], env=env, check=True, capture_output=True)
    # One backfill per run of consecutive dates: Airflow backfills whole ranges.
    for seg_first, seg_last in date_segments(days):
        created = subprocess.run(
            [_airflow_bin(), "backfill", "create", "--dag-id", "shopflow_daily", "--from-date", seg_first,
             "--to-date", seg_last, "--reprocess-behavior", "completed", "--max-active-runs", "2"],
            env=env, capture_output=True, text=True,
        )
        if created.returncode != 0:
            raise JobFailed(f"airflow backfill create failed for {seg_first}..{seg_last}: "
                            f"{(created.stderr or created.stdout).strip()[-500:]}")
    _say(f"backfill of shopflow_daily queued for {len(days)} dates; waiting (UI: {API_URL})")
    return _wait_for_runs(days, poll)


def _wait_for_runs(days: list[str], poll: float) -> int:
    """Wait for the runs of ``days``, a progress bar over the dates and a line per finished date."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    from shopflow.progress import steps

    wanted = set(days)
    reported: set[str] = set()
    with steps("backfill shopflow_daily", len(days)) as finished:
        while True:
            with create_session() as session:
                runs = session.scalars(select(DagRun).where(DagRun.dag_id == "shopflow_daily")).all()
                state = {}
                for run in runs:
                    if run.logical_date is None:
                        continue
                    day = run.logical_date.date().isoformat()
                    if day in wanted:
                        state[day] = str(run.state).split(".")[-1].lower()
            for day in sorted(d for d, s in state.items() if s in ("success", "failed") and d not in reported):
                reported.add(day)
                finished(f"  shopflow_daily {day}: {state[day]}")
            if len(reported) == len(days):
                break
            time.sleep(poll)
    failed = sorted(d for d in reported if state.get(d) == "failed")
    if failed:
        _say("failed dates: " + describe(failed))
        return 1
    return 0


def _local_stack_defaults() -> None:
    """The local stack replays 2019 data: no catchup to today unless SHOPFLOW_CATCHUP says so."""
    if not os.environ.get("SHOPFLOW_CATCHUP"):
        os.environ["SHOPFLOW_CATCHUP"] = "false"
        _say("SHOPFLOW_CATCHUP=false: the daily schedule starts from the latest date, not 2019-11-01 "
             "(make backfill FROM=.. TO=.. for a range; SHOPFLOW_CATCHUP=true make airflow to catch up)")


def standalone() -> int:
    _local_stack_defaults()
    prepare_metadata_db()
    home = Path(os.environ["AIRFLOW_HOME"])
    _say(f"Airflow UI: {API_URL}  (user admin; password in {home / 'simple_auth_manager_passwords.json.generated'})")
    _say(f"DAGs: {os.environ['AIRFLOW__CORE__DAGS_FOLDER']}   MLflow UI: make mlflow   dashboard: make dashboard")
    os.execv(_airflow_bin(), [_airflow_bin(), "standalone"])


def dashboard() -> int:
    """Write the dashboard and show where the Airflow API server serves it (the plugin's page at
    ``/shopflow/dashboard``), starting ``airflow standalone`` in the background if none answers."""
    from shopflow import report

    path = report.build_report()
    _say(f"dashboard written to {path} (it also opens offline as it is)")
    if not api_up():
        start_standalone_background()
    home = Path(os.environ["AIRFLOW_HOME"])
    _say(f"dashboard: {API_URL}/shopflow/dashboard, or Browse -> shopflow dashboard in the Airflow UI "
         f"(user admin; password in {home / 'simple_auth_manager_passwords.json.generated'})")
    return 0


def mlflow_ui(port: int = 5000) -> int:
    settings = get_settings()
    Path(settings.mlflow_artifacts).mkdir(parents=True, exist_ok=True)
    mlflow = str(Path(sys.executable).with_name("mlflow"))
    _say(f"MLflow UI: http://127.0.0.1:{port}  (store {settings.mlflow_uri})")
    os.execv(mlflow, [mlflow, "ui", "--backend-store-uri", settings.mlflow_uri,
                      "--default-artifact-root", settings.mlflow_artifacts,
                      "--host", "127.0.0.1", "--port", str(port), "--workers", "1"])


def add_arguments(parser) -> None:
    from shopflow.errors import date_arg, int_range

    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    sub.add_parser("standalone", help="airflow standalone with this repo's DAGs (make airflow)",
                   description="airflow standalone with this repo's DAGs and plugins; UI on http://127.0.0.1:8080")
    sub.add_parser("stop", help="stop the airflow standalone that backfill or dashboard started in the background")
    sub.add_parser("dashboard", help="write the dashboard and serve it through Airflow's API server (make dashboard)")
    b = sub.add_parser("backfill", help="queue a backfill of shopflow_daily and wait (make backfill)",
                       description="Backfill shopflow_daily for the dates of a range that have landing files "
                                   "(the others are named and skipped), starting airflow standalone if needed.")
    b.add_argument("--from", dest="first", required=True, type=date_arg, help="first date, YYYY-MM-DD")
    b.add_argument("--to", dest="last", required=True, type=date_arg, help="last date, YYYY-MM-DD, included")
    b.add_argument("--no-prebuild", action="store_true", help="let every run submit its own Spark job")
    r = sub.add_parser("run", help="run shopflow_daily for dates in-process (dag.test), then training",
                       description="Run shopflow_daily in this process (dag.test, no scheduler) for the dates "
                                   "of a range that have landing files (the others are named and skipped).")
    r.add_argument("--from", dest="first", required=True, type=date_arg, help="first date, YYYY-MM-DD")
    r.add_argument("--to", dest="last", required=True, type=date_arg, help="last date, YYYY-MM-DD, included")
    r.add_argument("--training", action="store_true", help="then run shopflow_training for the last date")
    r.add_argument("--force-clean", action="store_true",
                   help="rerun the Spark cleaning job even for dates whose lake partition is current")
    m = sub.add_parser("mlflow-ui", help="the MLflow UI on this project's store (make mlflow)")
    m.add_argument("--port", type=int_range(1, 65535), default=5000, help="port on 127.0.0.1 (default 5000)")


def run(args) -> int:
    if args.action in ("backfill", "run") and args.last < args.first:
        raise UserError(f"--to {args.last} is before --from {args.first}: give the range in order")
    if args.action == "standalone":
        return standalone()
    if args.action == "stop":
        return stop()
    if args.action == "mlflow-ui":
        return mlflow_ui(args.port)
    if args.action == "dashboard":
        return dashboard()
    if args.action == "backfill":
        return backfill(args.first.isoformat(), args.last.isoformat(), prebuild_lake=not args.no_prebuild)

    from shopflow import pipeline

    days, missing = pipeline.landing_dates(args.first.isoformat(), args.last.isoformat())
    if not days:
        raise UserError(f"no landing file in {get_settings().landing} for any date of {args.first}..{args.last}: "
                        "land an export first (shopflow land SRC)")
    if missing:
        _say(f"no landing file for {describe(missing)}: those dates are skipped")
    check_start_date(days[0])
    prepare_metadata_db()
    run_daily(days, force_clean=args.force_clean)
    if args.training:
        run_training(days[-1])
    return 0
