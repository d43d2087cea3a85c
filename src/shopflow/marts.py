"""SQL marts and data-quality checks, on whichever warehouse is configured.

``build_marts`` runs the models of ``sql/`` in dependency order with the same parameters on
both backends (``@run_date`` DATE, ``@window_days`` INT64). Two kinds of model:

* history models (``mart_daily_funnel``, ``mart_hourly_activity``, ``mart_weekday_activity`` and
  the ``int_session_days`` they read) are rebuilt whole from ``events`` on every run, so they
  cover every loaded date whatever order dates were loaded in;
* as-of models (``mart_period_summary``, ``mart_top_items``, ``mart_rfm``) describe the trailing
  window of ``window_days`` days ending on the run date; a run replaces only its own
  ``as_of_date`` rows, so earlier runs' snapshots stay. ``mart_snapshots`` remembers what each
  snapshot was built from (a fingerprint of the manifests in its window); a run also rebuilds
  every snapshot whose window has changed since, e.g. when dates are loaded newest first.

Every model is a pure function of ``events`` and the parameters: rerunning replaces, and loading
the same dates in any order gives the same marts.

``run_checks`` runs every query in ``sql/checks`` for one date; each returns the violating rows.
The results go to ``dq_results`` (one row per run_date and check, replaced on rerun) before a
violation raises :class:`~shopflow.warehouse.base.DataQualityError` naming the check and date.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
from typing import Any, Iterable

from shopflow.warehouse.base import DataQualityError, Warehouse
from shopflow.dates import as_date
from shopflow.warehouse.dialect import list_models, load_model

log = logging.getLogger(__name__)

#: The models in dependency order (each reads only events or models before it).
MODELS = (
    "stg_events",
    "int_session_days",
    "mart_daily_funnel",
    "mart_hourly_activity",
    "mart_weekday_activity",
    "mart_period_summary",
    "mart_top_items",
    "mart_rfm",
)
#: The as-of models: one snapshot per run date, over the trailing window ending on it.
AS_OF_MODELS = ("mart_period_summary", "mart_top_items", "mart_rfm")
#: Bookkeeping of the as-of snapshots: as_of_date, window_start_date, window_days and a
#: fingerprint of the loads in the window when the snapshot was built.
SNAPSHOTS = "mart_snapshots"
#: The trailing window of the as-of marts; 30 days ending on 2019-11-30 is the reference's month.
DEFAULT_WINDOW_DAYS = 30
#: Violating rows kept in dq_results.details per check.
SAMPLE_ROWS = 5


def checks() -> list[str]:
    """The data-quality checks: every file in sql/checks, by name."""
    return list_models("checks")


def build_marts(
    wh: Warehouse,
    run_date: Any,
    window_days: int = DEFAULT_WINDOW_DAYS,
    models: Iterable[str] = MODELS,
) -> dict[str, int]:
    """Build ``models`` for ``run_date``; return rows per model (as-of models: rows of that date).

    Earlier snapshots of the as-of models whose window has changed since they were built (a date
    loaded out of order, or reloaded with other rows) are rebuilt too, so the marts end up the
    same whatever order dates were loaded and built in.
    """
    day = as_date(run_date)
    if isinstance(window_days, bool) or not isinstance(window_days, int) or window_days < 1:
        raise ValueError(f"window_days must be a positive integer, not {window_days!r}")
    if not wh.table_exists("events"):
        from shopflow.errors import UserError

        raise UserError("the warehouse has no events table yet: run `shopflow load` for a date first")
    models = list(models)
    rows = {}
    for name in models:
        rows[name] = wh.run_model(name, {"run_date": day, "window_days": window_days})
        log.info("%s: %d rows (run_date %s, window %d days)", name, rows[name], day, window_days)
    if set(AS_OF_MODELS) <= set(models):
        _refresh_snapshots(wh, day, window_days)
    return rows


def _refresh_snapshots(wh: Warehouse, day: dt.date, window_days: int) -> list[dt.date]:
    """Record this run's snapshot in ``mart_snapshots`` and rebuild the stale ones.

    A snapshot's fingerprint is a hash of the manifests (date, checksum, rows loaded) of the
    dates in its window: it changes exactly when a load changed the window's events.
    """
    import pandas as pd

    fingerprint = _fingerprints(wh)
    start = day - dt.timedelta(days=window_days - 1)
    snapshots = {day: (start, fingerprint(start, day))}
    if wh.table_exists(SNAPSHOTS):
        for r in wh.read_table(SNAPSHOTS).itertuples():
            as_of = _date(r.as_of_date)
            if as_of != day:
                snapshots[as_of] = (_date(r.window_start_date), r.inputs_fingerprint)
    refreshed = []
    for as_of in sorted(snapshots):
        first, stored = snapshots[as_of]
        current = fingerprint(first, as_of)
        if as_of != day and stored != current:
            days = (as_of - first).days + 1
            for name in AS_OF_MODELS:
                wh.run_model(name, {"run_date": as_of, "window_days": days})
            refreshed.append(as_of)
        snapshots[as_of] = (first, current)
    if refreshed:
        log.info("rebuilt the as-of marts of %s: their windows changed", ", ".join(map(str, refreshed)))
    frame = pd.DataFrame(
        [
            {
                "as_of_date": as_of,
                "window_start_date": first,
                "window_days": (as_of - first).days + 1,
                "inputs_fingerprint": fp,
            }
            for as_of, (first, fp) in sorted(snapshots.items())
        ],
        columns=["as_of_date", "window_start_date", "window_days", "inputs_fingerprint"],
    )
    wh.write_table(SNAPSHOTS, frame)
    return refreshed


def _fingerprints(wh: Warehouse):
    import hashlib

    loaded = (
        wh.query("select event_date, checksum, rows_loaded from manifests")
        if wh.table_exists("manifests")
        else None
    )
    entries = [] if loaded is None else sorted(
        (_date(r.event_date), f"{_date(r.event_date)}|{r.checksum}|{int(r.rows_loaded)}") for r in loaded.itertuples()
    )

    def fingerprint(first: dt.date, last: dt.date) -> str:
        text = "\n".join(line for d, line in entries if first <= d <= last)
        return hashlib.sha256(text.encode()).hexdigest()

    return fingerprint


def _date(value: Any) -> dt.date:
    """A DATE as read back: datetime.date, pandas Timestamp (DuckDB) or dbdate (BigQuery)."""
    if hasattr(value, "date") and callable(value.date):
        return value.date()
    return as_date(value)


def run_checks(wh: Warehouse, run_date: Any, names: Iterable[str] | None = None):
    """Run the checks for ``run_date``, record them in ``dq_results`` and raise on a violation."""
    import pandas as pd

    day = as_date(run_date)
    records = []
    for name in names or checks():
        model = load_model(name)
        if model.materialized != "check":
            raise ValueError(f"{model.path} is not a check")
        outcome = _run_check(wh, model.sql, day)
        records.append({"run_date": day, "check_name": name, "description": model.describe("checks"), **outcome})
    results = pd.DataFrame(
        records, columns=["run_date", "check_name", "description", "n_violations", "status", "details"]
    )
    results["n_violations"] = results["n_violations"].astype("int64")
    wh.write_table("dq_results", results, replace_where={"run_date": day})
    failed = results[results["status"] != "pass"]
    if len(failed):
        raise DataQualityError(
            "; ".join(f"check {r.check_name} failed for {day}: {r.details}" for r in failed.itertuples())
        )
    return results


def _run_check(wh: Warehouse, check_sql: str, day: dt.date) -> dict:
    # One query gives the count and a sample; ordering the sample by its JSON text makes
    # dq_results identical on reruns.
    sql = (
        f"select *, count(*) over () as n_violations__ from (\n{check_sql.strip()}\n) as violations\n"
        f"order by to_json_string(violations)\nlimit {SAMPLE_ROWS}"
    )
    try:
        sample = wh.query(sql, {"run_date": day})
    except Exception as exc:  # a check that cannot run is a failed check, never a pass
        return {"n_violations": 0, "status": "error", "details": f"could not run: {type(exc).__name__}: {exc}"}
    if sample.empty:
        return {"n_violations": 0, "status": "pass", "details": ""}
    n = int(sample["n_violations__"].iloc[0])
    rows = sample.drop(columns=["n_violations__"]).to_json(orient="records", date_format="iso")
    return {"n_violations": n, "status": "fail", "details": f"{n} violating rows, e.g. {rows}"}


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


def run(args: argparse.Namespace) -> int:
    from shopflow.warehouse import get_warehouse

    try:
        with get_warehouse() as wh:
            for name, rows in build_marts(wh, args.date, args.window_days).items():
                print(f"{name}: {rows} rows")
            if args.skip_checks:
                return 0
            results = run_checks(wh, args.date)
    except (DataQualityError, RuntimeError, ValueError) as exc:
        print(f"shopflow marts: {exc}", file=sys.stderr)
        return 1
    for r in results.itertuples():
        print(f"check {r.check_name}: {r.status}")
    return 0
