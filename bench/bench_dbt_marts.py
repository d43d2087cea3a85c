"""The dbt marts' cost per daily run against the loaded history, and a backfill's cost per day.

Issue 11's targets, measured on DuckDB with today's runner (before dbt) in the same run:

* one day's marts after 7, 30 and 90 loaded days: the 90-day run costs at most 1.25x the
  7-day run (a daily run costs one day, whatever the history);
* a backfill of 30 days (one run per date, oldest first, each loading its date and then
  building its marts, as an Airflow backfill runs them) costs at most 30x one day's run (the
  30-day daily run); the same 30 dates loaded first and built in one dbt invocation
  (``build_range``, as the demo does) are reported beside it.

Setup (timed, reported, not part of the targets): ``shopflow generate --scale S --days 7``;
DuckDB stands in for the Spark job (bench.bench_marts.build_lake); the 7 generated days are
repeated, shifted by whole weeks, to make 90 lake dates (same weekday, same volume, same users;
each copy's sessions get new ids). Each history length H has its own warehouse holding dates
1..H, with the marts built for 1..H-1 (one dbt run). The run of date H is then timed
``--repeat`` times per warehouse, in rounds: each round runs every history once, in an order
rotated from round to round, so that the machine's drift (these machines are shared) and the
first runs after a large job fall on every history alike; a rerun replaces the same date, so
every repeat does the same work. Today's runner, which rebuilds every history model from all of
events on each run, is timed afterwards on the same warehouses, in the same rounds (its tables
go to a schema of their own, dropped after each of its runs: no dbt run is timed beside them).

Run: ``make bench`` (full scale, S = 1.0: about 2.2M rows a day, 200M rows for 90 days) or
``.venv/bin/python -m bench.bench_dbt_marts --scale 0.01`` (SHOPFLOW_BENCH_DBT_SCALE) to try it.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.common import write_result

HISTORIES = (7, 30, 90)
#: The history whose daily run is a backfill's "one day".
BASELINE_HISTORY = 30
LEGACY_SQL = Path(__file__).resolve().parent / "legacy_sql"
LEGACY_MODELS = ("stg_events", "int_session_days", "mart_daily_funnel", "mart_hourly_activity",
                 "mart_weekday_activity", "mart_period_summary", "mart_top_items", "mart_rfm")


def make_lake(root: Path, scale: float, n_days: int) -> Path:
    """Generate 7 days and repeat them by whole weeks into ``n_days`` lake dates."""
    import duckdb

    from bench.bench_marts import build_lake

    lake = root / "lake"
    if (lake / f".complete-{n_days}-v2").exists():
        return lake
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    shopflow = str(Path(sys.executable).with_name("shopflow"))
    subprocess.run([shopflow, "generate", "--out", str(root / "landing"), "--scale", str(scale), "--days", "7",
                    "--remove-from-cart"], check=True)
    seed = root / "seed"
    build_lake(root / "landing", seed)
    shutil.rmtree(root / "landing")
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    start = dt.date(2019, 11, 1)
    for i in range(n_days):
        day, source = start + dt.timedelta(days=i), start + dt.timedelta(days=i % 7)
        shift = (day - source).days
        # A copy keeps the users (they come back every week) but not the sessions: a session id
        # recurring every 7 days, on 13 of the 90 dates, is not a session, and it would make
        # every session of the history one that spans dates.
        session = f"user_session || '-w{i // 7}'" if i >= 7 else "user_session"
        folder = lake / "events" / f"event_date={day}"
        folder.mkdir(parents=True)
        con.execute(f"""
            copy (
                select * replace (event_time + to_days({shift}) as event_time,
                                  cast(event_date + {shift} as date) as event_date,
                                  {session} as user_session)
                from read_parquet('{seed}/events/event_date={source}/*.parquet')
            ) to '{folder}/part-0.parquet' (format parquet, compression zstd)
        """)
        manifest = (seed / "manifests" / f"{source}.json").read_text().replace(str(source), str(day))
        (lake / "manifests").mkdir(exist_ok=True)
        (lake / "manifests" / f"{day}.json").write_text(manifest)
    con.close()
    (lake / f".complete-{n_days}-v2").write_text("ok\n")
    return lake


def legacy_model(name: str) -> tuple[str, str]:
    """(text, materialized) of bench/legacy_sql/*/<name>.sql: view, table or partition(...),
    from its ``-- materialized:`` header line (the header the runner before dbt read)."""
    (path,) = LEGACY_SQL.glob(f"*/{name}.sql")
    text = path.read_text()
    (materialized,) = re.findall(r"^--\s*materialized:\s*(\w+)", text, flags=re.M)
    return text, materialized


def legacy_build(wh, run_date: dt.date, window_days: int = 30) -> None:
    """Today's runner (before dbt), frozen: every model of bench/legacy_sql in order, the history
    models rebuilt whole, the as-of models replacing their as_of_date. DuckDB only; its tables go
    to the schema legacy (events is read from main)."""
    from shopflow.warehouse.dialect import to_duckdb

    con = wh._con
    con.execute("create schema if not exists legacy")
    con.execute("set search_path = 'legacy,main'")
    try:
        params = {"run_date": run_date, "window_days": window_days}
        for name in LEGACY_MODELS:
            text, materialized = legacy_model(name)
            sql = to_duckdb(text)
            bound = {k: v for k, v in params.items() if f"${k}" in sql}
            if materialized == "view":
                con.execute(f"create or replace view legacy.{name} as {sql}")
            elif materialized == "table":
                con.execute(f"create or replace table legacy.{name} as {sql}", bound)
            else:
                con.execute(f"create table if not exists legacy.{name} as select * from ({sql}) as m limit 0", bound)
                con.execute(f"delete from legacy.{name} where as_of_date = $d", {"d": run_date})
                con.execute(f"insert into legacy.{name} by name {sql}", bound)
    finally:
        con.execute("set search_path = 'main'")


def backfill(n_days: int, root: Path, lake: Path, days: list, settings, open_warehouse) -> dict:
    """A backfill of ``n_days`` dates as Airflow runs one (`airflow backfill create`, oldest first):
    each date's run loads its partition, then builds its marts; the marts of a date are timed (as
    the daily runs are), the load is not. Today's runner is timed after dbt on the same state, and
    its tables dropped again (``drop_legacy``).

    "One day", the baseline, is the daily run of the 30-day warehouse timed between the backfill's
    dates (after every date; today's runner's after every sixth), so that both sides of the ratio
    see the same machine (until 2026-12-08 it was the daily runs' median, measured some 15
    minutes before the backfill started).
    (Until 2026-12-07 every date was loaded before the first run: that run then built all 30
    dates at once, the one-invocation cost below, and each later run rebuilt its own date.)
    """
    from shopflow.marts import build_marts, build_range
    from shopflow.warehouse.duckdb import DuckDBWarehouse

    db = root / "warehouse.duckdb"
    db.unlink(missing_ok=True)
    baseline_date = days[BASELINE_HISTORY - 1]

    def baseline(run, after=None) -> float:
        wh30 = open_warehouse(BASELINE_HISTORY)
        try:
            s = time.perf_counter()
            run(wh30, baseline_date)
            seconds = time.perf_counter() - s
            if after:
                after(wh30)
            return seconds
        finally:
            wh30.close()

    per_day, legacy, one_day, legacy_one_day = [], [], [], []
    for i, day in enumerate(days[:n_days]):
        wh = DuckDBWarehouse(dataclasses.replace(settings, duckdb_path=db))
        wh.load_events_partition(day, str(lake))
        s = time.perf_counter()
        build_marts(wh, day)
        per_day.append(time.perf_counter() - s)
        s = time.perf_counter()
        legacy_build(wh, day)
        legacy.append(time.perf_counter() - s)
        drop_legacy(wh)
        wh.close()
        one_day.append(baseline(build_marts))
        if i % 6 == 5:
            legacy_one_day.append(baseline(legacy_build, after=drop_legacy))
    total = sum(per_day)
    # The same dates in one dbt invocation (shopflow.marts.build_range; what the demo does).
    db.unlink(missing_ok=True)
    wh = DuckDBWarehouse(dataclasses.replace(settings, duckdb_path=db))
    for day in days[:n_days]:
        wh.load_events_partition(day, str(lake))
    t = time.perf_counter()
    build_range(wh, days[:n_days])
    one_build = time.perf_counter() - t
    wh.close()
    day_median = statistics.median(one_day)
    legacy_day_median = statistics.median(legacy_one_day) if legacy_one_day else float("nan")
    return {
        "procedure": "per date, oldest first: load the date, then its marts (timed); one day = the "
                     "30-day warehouse's daily run, timed after every date",
        "days": n_days, "seconds": round(total, 1), "per_day_median": round(statistics.median(per_day), 2),
        "per_day_seconds": [round(x, 2) for x in per_day],
        "one_day_median": round(day_median, 2), "one_day_seconds": [round(x, 2) for x in one_day],
        "vs_one_day": round(total / day_median, 1),
        "legacy_seconds": round(sum(legacy), 1),
        "legacy_one_day_median": round(legacy_day_median, 2),
        "legacy_vs_one_day": round(sum(legacy) / legacy_day_median, 1),
        "one_invocation_seconds": round(one_build, 1),
        "one_invocation_vs_one_day": round(one_build / day_median, 1),
    }


def drop_legacy(wh, *_) -> None:
    """Remove today's runner's tables (schema legacy) once its run is timed: a dbt run must not be
    timed in a file that also holds them (no deployment does; a 90-day warehouse that did ran
    12% and 22% slower in two alternated turns, docs/warehouse.md)."""
    wh._con.execute("drop schema if exists legacy cascade")
    wh._con.execute("checkpoint")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=float(os.environ.get("SHOPFLOW_BENCH_DBT_SCALE", "1.0")))
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--backfill-days", type=int, default=30)
    ap.add_argument("--parts", default="daily,backfill",
                    help="what to measure: daily (the runs after 7, 30, 90 days), backfill, or both")
    args = ap.parse_args(argv)
    parts = set(args.parts.split(","))
    if not parts or parts - {"daily", "backfill"}:
        ap.error(f"--parts takes daily, backfill or daily,backfill, not {args.parts!r}")

    from shopflow.config import get_settings
    from shopflow.dbt import node_seconds
    from shopflow.marts import build_marts
    from shopflow.warehouse.duckdb import DuckDBWarehouse

    root = Path(os.environ.get("SHOPFLOW_BENCH_DIR", "/tmp/shopflow-bench")) / "dbt_marts" / f"scale-{args.scale:g}"
    started = time.perf_counter()
    lake = make_lake(root, args.scale, max(HISTORIES))
    setup = {"lake_seconds": round(time.perf_counter() - started, 1)}
    days = sorted(dt.date.fromisoformat(p.name.split("=")[1]) for p in (lake / "events").glob("event_date=*"))
    settings = get_settings()
    result = {"command": f"python -m bench.bench_dbt_marts --scale {args.scale:g} --repeat {args.repeat} "
                         f"--backfill-days {args.backfill_days} --parts {args.parts}",
              "scale": args.scale, "setup": setup, "daily_run": {}, "legacy_daily_run": {}}

    # One warehouse per history (dates 1..H, marts of 1..H-1 built), then the timed runs in rounds.
    # Until 2026-12-08 the histories were timed one after another in one growing warehouse: the
    # 7-day runs came first, the 90-day runs some 15 minutes later, right after the 89-date
    # build, so any drift of the shared machine in between went into the ratio.
    def open_warehouse(history: int):
        return DuckDBWarehouse(dataclasses.replace(settings, duckdb_path=root / f"warehouse-{history}.duckdb"))

    # The backfill's baseline is the 30-day warehouse's daily run (see below).
    histories = HISTORIES if "daily" in parts else (BASELINE_HISTORY,)
    for history in histories:
        t = time.perf_counter()
        (root / f"warehouse-{history}.duckdb").unlink(missing_ok=True)
        wh = open_warehouse(history)
        for day in days[:history]:
            wh.load_events_partition(day, str(lake))
        build_marts(wh, days[history - 2])  # the marts of every earlier date, in one run
        setup[f"load_and_history_{history}_seconds"] = round(time.perf_counter() - t, 1)
        result["daily_run"][str(history)] = {
            "events_loaded": int(wh.query("select count(*) as n from events")["n"].iloc[0])}
        wh.close()

    def rounds(run, after=None) -> dict[int, list[float]]:
        """``run(wh, history)`` timed ``--repeat`` times per history, one history after another in
        each round, the order rotated every round; ``after(wh, history)`` once the clock stopped."""
        seconds: dict[int, list[float]] = {h: [] for h in HISTORIES}
        for r in range(args.repeat):
            for history in HISTORIES[r % len(HISTORIES):] + HISTORIES[: r % len(HISTORIES)]:
                wh = open_warehouse(history)
                s = time.perf_counter()
                run(wh, history)
                seconds[history].append(time.perf_counter() - s)
                if after:
                    after(wh, history)
                wh.close()
        return seconds

    nodes: dict[int, list[dict]] = {h: [] for h in HISTORIES}

    def daily_run(wh, history: int) -> None:
        build_marts(wh, days[history - 1])

    def model_seconds(wh, history: int) -> None:
        nodes[history].append(node_seconds(wh.settings, wh.path))  # what each model took (run_results)

    def legacy_run(wh, history: int) -> None:
        legacy_build(wh, days[history - 1])

    runs = rounds(daily_run, after=model_seconds) if "daily" in parts else {}
    legacy_runs = rounds(legacy_run, after=drop_legacy) if "daily" in parts else {}
    for history in HISTORIES if "daily" in parts else ():
        ns = nodes[history]
        result["daily_run"][str(history)] |= {
            "median_seconds": round(statistics.median(runs[history]), 2),
            "runs": [round(r, 2) for r in runs[history]],
            "node_median_seconds": {name: round(statistics.median(n[name] for n in ns), 2) for name in ns[0]},
        }
        result["legacy_daily_run"][str(history)] = {"median_seconds": round(statistics.median(legacy_runs[history]), 2),
                                                    "runs": [round(r, 2) for r in legacy_runs[history]]}
        print(f"history {history}: dbt {result['daily_run'][str(history)]['median_seconds']} s, "
              f"today's runner {result['legacy_daily_run'][str(history)]['median_seconds']} s; dbt per model: "
              f"{result['daily_run'][str(history)]['node_median_seconds']}", flush=True)
    for history in HISTORIES:
        if history != BASELINE_HISTORY:
            (root / f"warehouse-{history}.duckdb").unlink(missing_ok=True)

    def ratio(part: str) -> float:
        return round(result[part]["90"]["median_seconds"] / result[part]["7"]["median_seconds"], 2)

    if "daily" in parts:
        result["daily_run_procedure"] = ("one warehouse per history; the runs of date H timed in rounds, each round "
                                         "running every history once in an order rotated every round; today's "
                                         "runner after every dbt run, in rounds the same way")
        result["ratio_90_vs_7"] = ratio("daily_run")
        result["legacy_ratio_90_vs_7"] = ratio("legacy_daily_run")

    if "backfill" in parts:
        result["backfill"] = backfill(args.backfill_days, root, lake, days, settings, open_warehouse)
    result["targets"] = {}
    if "daily" in parts:
        result["targets"]["ratio_90_vs_7 <= 1.25"] = result["ratio_90_vs_7"] <= 1.25
    if "backfill" in parts:
        result["targets"]["backfill_vs_one_day <= 30"] = result["backfill"]["vs_one_day"] <= 30
    (root / f"warehouse-{BASELINE_HISTORY}.duckdb").unlink(missing_ok=True)
    write_result("dbt_marts", result)
    print(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
