"""SQL marts and data-quality checks: the dbt project in ``sql/``, on whichever warehouse is configured.

``build_marts`` runs the dbt models for a run date; ``run_checks`` runs the dbt data tests of
that date. Both call the dbt of ``.venv-dbt`` (:mod:`shopflow.dbt`); Airflow runs the same
project through Cosmos (``dags/shopflow_daily.py``) with the run settings of :func:`plan_marts`.

Two kinds of model:

* per-date models (``int_session_days``, ``int_user_days``, ``int_item_days``,
  ``int_category_brand_days``, ``mart_daily_funnel``, ``mart_hourly_activity``) are incremental
  by ``event_date``: a run replaces only the dates it touches. Those are the run date and every
  date loaded (or reloaded, or removed) since the marts were last built from it: ``mart_dates``
  remembers the manifest (checksum, rows loaded) each date was built from.
  ``int_session_days`` and ``int_user_days`` carry each row's previous date (within
  ``lookback_days``, the longest window: ``sql/macros/lookback.sql``), so the built dates less
  than ``lookback_days`` after a late, reloaded or removed date are rebuilt with it;
  ``mart_weekday_activity`` is rebuilt from the hourly mart on every run (it is small);
* as-of models (``mart_period_summary``, ``mart_top_items``, ``mart_rfm``) describe the trailing
  window of ``window_days`` days ending on the run date; a run replaces only its own
  ``as_of_date``. ``mart_snapshots`` remembers what each snapshot was built from (a fingerprint
  of the manifests in its window); a run also rebuilds every snapshot whose window has changed
  since, e.g. when dates are loaded newest first.

Every model is a pure function of ``events`` and the run settings: rerunning replaces, and
loading the same dates in any order gives the same marts (``full_refresh=True`` rebuilds every
table from ``events`` and gives the same tables as the incremental history).

The data tests (``sql/tests``, and the generic ones on the events source) record one row per
run date and check in ``dq_results`` (dbt's on-run-end hook), then a violation fails the run;
``run_checks`` raises :class:`~shopflow.warehouse.base.DataQualityError` naming the check and date.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import logging
import sys
from dataclasses import dataclass, field
from typing import Any, Iterable

from shopflow.dates import as_date
from shopflow.queries import query_sql
from shopflow.warehouse.base import DataQualityError, Warehouse

log = logging.getLogger(__name__)

#: The dbt models in dependency order (dbt orders them by ref(); this is for reporting).
MODELS = (
    "stg_events",
    "int_session_days",
    "int_user_days",
    "int_item_days",
    "int_category_brand_days",
    "mart_daily_funnel",
    "mart_hourly_activity",
    "mart_weekday_activity",
    "mart_period_summary",
    "mart_top_items",
    "mart_rfm",
)
#: Incremental by event_date: a run replaces the dates it touches.
PER_DATE_MODELS = ("int_session_days", "int_user_days", "int_item_days", "int_category_brand_days",
                   "mart_daily_funnel", "mart_hourly_activity")
#: The as-of models: one snapshot per run date, over the trailing window ending on it.
AS_OF_MODELS = ("mart_period_summary", "mart_top_items", "mart_rfm")
#: The data-quality checks (dbt data tests), as named in dq_results.
CHECKS = (
    "accepted_event_types",
    "derived_columns_consistent",
    "funnel_counts_non_negative",
    "funnel_matches_events",
    "manifest_accounting",
    "not_null_keys",
    "partition_matches_manifest",
    "quarantine_share",
    "unique_events",
)
#: Bookkeeping of the as-of snapshots: as_of_date, window_start_date, window_days and a
#: fingerprint of the loads in the window when the snapshot was built.
SNAPSHOTS = "mart_snapshots"
#: Bookkeeping of the per-date models: event_date and the load it was built from.
DATES = "mart_dates"
#: The trailing window of the as-of marts; 30 days ending on 2019-11-30 is the reference's month.
DEFAULT_WINDOW_DAYS = 30


def checks() -> list[str]:
    """The data-quality checks, by name."""
    return list(CHECKS)


@dataclass
class MartsPlan:
    """What one run of the marts rebuilds, and the bookkeeping to record once it succeeded."""

    run_date: dt.date
    window_days: int
    event_dates: list[dt.date]
    as_of_windows: list[tuple[dt.date, int]]
    check_dates: list[dt.date] = field(default_factory=list)
    dates_built: dict[dt.date, str] = field(default_factory=dict)
    snapshots: dict[dt.date, tuple[dt.date, str]] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        """The run settings as the dbt project reads them (macros/run_dates.sql)."""
        return {
            "SHOPFLOW_DBT_RUN_DATE": self.run_date.isoformat(),
            "SHOPFLOW_DBT_WINDOW_DAYS": str(self.window_days),
            "SHOPFLOW_DBT_EVENT_DATES": ",".join(d.isoformat() for d in self.event_dates),
            "SHOPFLOW_DBT_AS_OF_WINDOWS": ",".join(f"{d.isoformat()}:{n}" for d, n in self.as_of_windows),
            "SHOPFLOW_DBT_CHECK_DATES": ",".join(d.isoformat() for d in self.check_dates or [self.run_date]),
        }


def _location_env() -> dict[str, str]:
    from shopflow.dbt import LOCATION_SETTINGS, dbt_env

    return {k: v for k, v in dbt_env().items() if k in LOCATION_SETTINGS}


def plan_to_dict(plan: MartsPlan) -> dict:
    """A plan as JSON-safe values (an XCom between the Airflow tasks around dbt)."""
    return {
        "env": {**plan.env(), **_location_env()},
        "run_date": plan.run_date.isoformat(),
        "window_days": plan.window_days,
        "event_dates": [d.isoformat() for d in plan.event_dates],
        "as_of_windows": [[d.isoformat(), n] for d, n in plan.as_of_windows],
        "check_dates": [d.isoformat() for d in plan.check_dates],
        "dates_built": {d.isoformat(): line for d, line in plan.dates_built.items()},
        "snapshots": {d.isoformat(): [first.isoformat(), fp] for d, (first, fp) in plan.snapshots.items()},
    }


def plan_from_dict(data: dict) -> MartsPlan:
    day = dt.date.fromisoformat
    return MartsPlan(
        run_date=day(data["run_date"]),
        window_days=int(data["window_days"]),
        event_dates=[day(d) for d in data["event_dates"]],
        as_of_windows=[(day(d), int(n)) for d, n in data["as_of_windows"]],
        check_dates=[day(d) for d in data.get("check_dates", [data["run_date"]])],
        dates_built={day(d): line for d, line in data["dates_built"].items()},
        snapshots={day(d): (day(first), fp) for d, (first, fp) in data["snapshots"].items()},
    )


def lookback_days() -> int:
    """How far back int_user_days and int_session_days look up a previous date (var
    lookback_days of sql/dbt_project.yml): the longest window an as-of mart may have."""
    from shopflow import dbt

    return int(dbt.project_var("lookback_days"))


def plan_marts(wh: Warehouse, run_date: Any, window_days: int = DEFAULT_WINDOW_DAYS,
               full_refresh: bool = False, as_of_dates: Iterable[Any] = ()) -> MartsPlan:
    """The dates a run of ``run_date`` must rebuild: the run date, every date whose load changed
    since its marts were built, the built dates less than ``lookback_days`` after such a date,
    and every earlier snapshot whose window changed. ``as_of_dates`` adds snapshots to build in
    the same run (a backfill builds a range in one dbt invocation)."""
    if not wh.table_exists("events"):
        from shopflow.errors import UserError

        raise UserError("the warehouse has no events table yet: run `shopflow load` for a date first")
    day = as_date(run_date)
    extra = sorted({as_date(d) for d in as_of_dates} - {day})
    if isinstance(window_days, bool) or not isinstance(window_days, int) or window_days < 1:
        raise ValueError(f"window_days must be a positive integer, not {window_days!r}")
    lookback = lookback_days()
    if window_days > lookback:
        raise ValueError(f"a window of {window_days} days is longer than lookback_days ({lookback}): "
                         "raise it in sql/dbt_project.yml and build with --full-refresh")
    loads = _loads(wh)
    built = _read_bookkeeping(wh, DATES)
    built_dates = {_date(r.event_date): r.inputs_fingerprint for r in built.itertuples()} if built is not None else {}
    changed = {d for d, line in loads.items() if built_dates.get(d) != line}
    removed = set(built_dates) - set(loads)
    # A late, reloaded or removed date can be the previous date (sql/macros/lookback.sql) of
    # rows on the built dates less than lookback_days after it: they are rebuilt too.
    following = {d for d in built_dates if d in loads
                 and any(0 < (d - c).days < lookback for c in changed | removed)}
    if following:
        log.info("rebuilding %d later date(s) whose previous dates depend on %s", len(following),
                 ", ".join(map(str, sorted(changed | removed))))
    event_dates = sorted({day} | changed | removed | following | (set(loads) if full_refresh else set()))

    def fingerprint(first: dt.date, last: dt.date) -> str:
        import hashlib

        text = "\n".join(line for d, line in sorted(loads.items()) if first <= d <= last)
        return hashlib.sha256(text.encode()).hexdigest()

    start = day - dt.timedelta(days=window_days - 1)
    snapshots = {day: (start, fingerprint(start, day))}
    windows = {day: window_days}
    for as_of in extra:
        first = as_of - dt.timedelta(days=window_days - 1)
        snapshots[as_of] = (first, fingerprint(first, as_of))
        windows[as_of] = window_days
    stored = _read_bookkeeping(wh, SNAPSHOTS)
    for r in stored.itertuples() if stored is not None else ():
        as_of, first = _date(r.as_of_date), _date(r.window_start_date)
        if as_of == day or as_of in extra:
            continue
        current = fingerprint(first, as_of)
        snapshots[as_of] = (first, current)
        if full_refresh or current != r.inputs_fingerprint:
            windows[as_of] = (as_of - first).days + 1
    stale = sorted(d for d in windows if d != day)
    if stale:
        log.info("rebuilding the as-of marts of %s: their windows changed", ", ".join(map(str, stale)))
    return MartsPlan(
        run_date=day,
        window_days=window_days,
        event_dates=event_dates,
        as_of_windows=sorted(windows.items()),
        # The data tests check every date the run built except the removed ones (and the run
        # date, which has a row in dq_results even when nothing was loaded for it).
        check_dates=sorted({day} | {d for d in event_dates if d in loads}),
        dates_built={d: loads[d] for d in event_dates if d in loads} | {
            d: line for d, line in built_dates.items() if d not in event_dates},
        snapshots=snapshots,
    )


def record_marts(wh: Warehouse, plan: MartsPlan) -> None:
    """Write the bookkeeping of a successful run: mart_dates and mart_snapshots."""
    import pandas as pd

    dates = pd.DataFrame(
        [{"event_date": d, "inputs_fingerprint": line} for d, line in sorted(plan.dates_built.items())],
        columns=["event_date", "inputs_fingerprint"],
    )
    wh.write_table(DATES, dates)
    snapshots = pd.DataFrame(
        [
            {"as_of_date": as_of, "window_start_date": first, "window_days": (as_of - first).days + 1,
             "inputs_fingerprint": fp}
            for as_of, (first, fp) in sorted(plan.snapshots.items())
        ],
        columns=["as_of_date", "window_start_date", "window_days", "inputs_fingerprint"],
    )
    snapshots["window_days"] = snapshots["window_days"].astype("int64")
    wh.write_table(SNAPSHOTS, snapshots)


def build_marts(
    wh: Warehouse,
    run_date: Any,
    window_days: int = DEFAULT_WINDOW_DAYS,
    models: Iterable[str] = MODELS,
    full_refresh: bool = False,
    as_of_dates: Iterable[Any] = (),
) -> dict[str, int]:
    """Build the marts for ``run_date`` with dbt; return rows per model (per-date models: rows of
    the run date; as-of models: rows of that as_of_date). ``as_of_dates``: more snapshots built in
    the same dbt invocation (see :func:`build_range`)."""
    from shopflow import dbt

    models = list(models)
    plan = plan_marts(wh, run_date, window_days, full_refresh=full_refresh, as_of_dates=as_of_dates)
    args = ["run", "--select", *models]
    if full_refresh:
        args.append("--full-refresh")
    with _released(wh) as path:
        proc = dbt.run(args, settings=getattr(wh, "settings", None), duckdb_path=path, extra_env=plan.env())
    log.info("dbt run for %s in %.1f s (dates %s)", plan.run_date, proc.seconds, plan.event_dates)
    if set(AS_OF_MODELS) <= set(models) and set(PER_DATE_MODELS) <= set(models):
        record_marts(wh, plan)
    return _row_counts(wh, plan, models)


def build_range(wh: Warehouse, dates: Iterable[Any], window_days: int = DEFAULT_WINDOW_DAYS) -> dict[str, int]:
    """Build the marts of every date in ``dates`` in one dbt invocation: the same tables as one
    run per date in date order, for the cost of one (a backfill, or the demo's month)."""
    days = sorted({as_date(d) for d in dates})
    if not days:
        raise ValueError("no dates to build")
    return build_marts(wh, days[-1], window_days, as_of_dates=days)


def run_checks(wh: Warehouse, run_date: Any, names: Iterable[str] | None = None, dates: Iterable[Any] = ()):
    """Run the data tests of ``run_date`` and of ``dates`` (e.g. every date of a range build),
    recorded in ``dq_results`` one row per date and check; raise on a violation, naming each
    failed check and date. Returns the results of ``run_date``."""
    from shopflow import dbt

    day = as_date(run_date)
    names = list(names or CHECKS)
    unknown = sorted(set(names) - set(CHECKS))
    if unknown:
        raise ValueError(f"no such check: {', '.join(unknown)}")
    checked = sorted({day} | {as_date(d) for d in dates})
    env = {"SHOPFLOW_DBT_RUN_DATE": day.isoformat(),
           "SHOPFLOW_DBT_CHECK_DATES": ",".join(d.isoformat() for d in checked)}
    with _released(wh) as path:
        proc = dbt.run(["test", "--select", *names], settings=getattr(wh, "settings", None), duckdb_path=path,
                       extra_env=env, check=False)
    results = wh.query(
        query_sql("marts/dq_results"),
        {"first": checked[0], "last": checked[-1]},
    ) if wh.table_exists("dq_results") else None
    if results is not None:
        results = results[results["check_name"].isin(names)
                          & results["run_date"].map(_date).isin(checked)].reset_index(drop=True)
    if results is None or len(results) != len(names) * len(checked):
        raise DataQualityError(f"the checks for {', '.join(map(str, checked))} did not run:\n{dbt.why(proc)}")
    failed = results[results["status"] != "pass"]
    if len(failed):
        raise DataQualityError("; ".join(
            f"check {r.check_name} failed for {_date(r.run_date)}: {r.details}" for r in failed.itertuples()))
    if proc.returncode != 0:
        raise DataQualityError(f"the checks for {day} failed:\n{dbt.why(proc)}")
    return results[results["run_date"].map(_date) == day].reset_index(drop=True)


@contextlib.contextmanager
def _released(wh: Warehouse):
    """Let dbt open the warehouse: DuckDB allows one writing process per file, so the caller's
    connection is closed while dbt runs and opened again after. Yields the DuckDB path (or None)."""
    if getattr(wh, "backend", None) != "duckdb":
        yield None
        return
    path = wh.path
    wh.close()
    try:
        yield path
    finally:
        type(wh).__init__(wh, wh.settings, path)


def _loads(wh: Warehouse) -> dict[dt.date, str]:
    """Each loaded date and a line naming its load (date, checksum, rows loaded)."""
    if wh.table_exists("manifests"):
        frame = wh.query(query_sql("marts/manifest_versions"))
        return {
            _date(r.event_date): f"{_date(r.event_date)}|{r.checksum}|{int(r.rows_loaded)}"
            for r in frame.itertuples()
        }
    frame = wh.query(query_sql("marts/event_counts"))
    return {_date(r.event_date): f"{_date(r.event_date)}||{int(r.n)}" for r in frame.itertuples()}


def _read_bookkeeping(wh: Warehouse, name: str):
    return wh.read_table(name) if wh.table_exists(name) else None


def _row_counts(wh: Warehouse, plan: MartsPlan, models: Iterable[str]) -> dict[str, int]:
    """Rows per model: per-date models, the rows of the dates the run replaced; as-of models, the
    rows of the run date's snapshot; tables and views, all their rows."""
    rows = {}
    for name in models:
        if not wh.table_exists(name):
            continue
        if name in PER_DATE_MODELS:
            dates = ", ".join(f"date '{d.isoformat()}'" for d in plan.event_dates)
            where, params = f"where event_date in ({dates})", None
        elif name in AS_OF_MODELS:
            where, params = "where as_of_date = @d", {"d": plan.run_date}
        else:
            where, params = "", None
        rows[name] = int(wh.query(f"select count(*) as n from {name} {where}", params)["n"].iloc[0])
    return rows


def _date(value: Any) -> dt.date:
    """A DATE as read back: datetime.date, pandas Timestamp (DuckDB) or dbdate (BigQuery)."""
    if hasattr(value, "date") and callable(value.date):
        return value.date()
    return as_date(value)


# --------------------------------------------------------------------------------------------
# shopflow marts
# --------------------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from shopflow.errors import date_arg, int_range

    parser.add_argument("--date", required=True, type=date_arg, help="the run date (YYYY-MM-DD)")
    parser.add_argument(
        "--window-days",
        type=int_range(1),
        default=DEFAULT_WINDOW_DAYS,
        help=f"trailing window of the as-of marts, ending on --date (default {DEFAULT_WINDOW_DAYS})",
    )
    parser.add_argument("--skip-checks", action="store_true", help="build the marts without the data-quality checks")
    parser.add_argument("--full-refresh", action="store_true",
                        help="rebuild every mart table from events (the same tables as the incremental history)")


def run(args: argparse.Namespace) -> int:
    from shopflow.dbt import DbtError
    from shopflow.warehouse import get_warehouse

    full_refresh = getattr(args, "full_refresh", False)
    try:
        with get_warehouse() as wh:
            # The dates this run builds, planned before the build records them: the checks
            # cover every one (a late or reloaded date, not only --date), as in Airflow.
            checked = plan_marts(wh, args.date, args.window_days, full_refresh=full_refresh).check_dates
            for name, rows in build_marts(wh, args.date, args.window_days, full_refresh=full_refresh).items():
                print(f"{name}: {rows} rows")
            if args.skip_checks:
                return 0
            results = run_checks(wh, args.date, dates=checked)
    except (DataQualityError, DbtError, RuntimeError, ValueError) as exc:
        print(f"shopflow marts: {exc}", file=sys.stderr)
        return 1
    for r in results.itertuples():
        print(f"check {r.check_name}: {r.status}")
    others = [d.isoformat() for d in checked if d != as_date(args.date)]
    if others:
        print(f"checks also passed for {', '.join(others)} (built by this run)")
    return 0
