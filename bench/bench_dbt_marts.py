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
each copy's sessions get new ids). For each
history length H the warehouse holds dates 1..H, the marts are built for 1..H-1 (one dbt
run), then the run of date H is timed ``--repeat`` times (a rerun replaces the same date, so
every repeat does the same work). Today's runner rebuilds every history model from all of
events on each run: it is timed on the same warehouse.

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

from bench.common import timed, write_result

HISTORIES = (7, 30, 90)
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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=float(os.environ.get("SHOPFLOW_BENCH_DBT_SCALE", "1.0")))
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--backfill-days", type=int, default=30)
    args = ap.parse_args(argv)

    from shopflow.config import get_settings
    from shopflow.dbt import node_seconds
    from shopflow.marts import build_marts, build_range
    from shopflow.warehouse.duckdb import DuckDBWarehouse

    root = Path(os.environ.get("SHOPFLOW_BENCH_DIR", "/tmp/shopflow-bench")) / "dbt_marts" / f"scale-{args.scale:g}"
    started = time.perf_counter()
    lake = make_lake(root, args.scale, max(HISTORIES))
    setup = {"lake_seconds": round(time.perf_counter() - started, 1)}
    days = sorted(dt.date.fromisoformat(p.name.split("=")[1]) for p in (lake / "events").glob("event_date=*"))
    settings = get_settings()
    result = {"command": f"python -m bench.bench_dbt_marts --scale {args.scale:g} --repeat {args.repeat}",
              "scale": args.scale, "setup": setup, "daily_run": {}, "legacy_daily_run": {}}

    db = root / "warehouse.duckdb"
    db.unlink(missing_ok=True)
    wh = DuckDBWarehouse(dataclasses.replace(settings, duckdb_path=db))
    loaded = 0
    for history in HISTORIES:
        t = time.perf_counter()
        for day in days[loaded:history]:
            wh.load_events_partition(day, str(lake))
        loaded = history
        run_date = days[history - 1]
        build_marts(wh, days[history - 2])  # the marts of every earlier date (first run: all of them)
        setup[f"load_and_history_{history}_seconds"] = round(time.perf_counter() - t, 1)
        rows = int(wh.query("select count(*) as n from events")["n"].iloc[0])
        nodes = []

        def daily_run():
            build_marts(wh, run_date)
            nodes.append(node_seconds(wh.settings, db))  # what each model took (dbt's run_results)

        median, runs, _ = timed(daily_run, repeat=args.repeat)
        result["daily_run"][str(history)] = {
            "median_seconds": round(median, 2), "runs": [round(r, 2) for r in runs], "events_loaded": rows,
            "node_median_seconds": {name: round(statistics.median(n[name] for n in nodes), 2) for name in nodes[0]},
        }
        median, runs, _ = timed(lambda: legacy_build(wh, run_date), repeat=args.repeat)
        result["legacy_daily_run"][str(history)] = {"median_seconds": round(median, 2),
                                                    "runs": [round(r, 2) for r in runs]}
        print(f"history {history}: dbt {result['daily_run'][str(history)]['median_seconds']} s, "
              f"today's runner {result['legacy_daily_run'][str(history)]['median_seconds']} s; dbt per model: "
              f"{result['daily_run'][str(history)]['node_median_seconds']}", flush=True)
    wh.close()

    def ratio(part: str) -> float:
        return round(result[part]["90"]["median_seconds"] / result[part]["7"]["median_seconds"], 2)

    result["ratio_90_vs_7"] = ratio("daily_run")
    result["legacy_ratio_90_vs_7"] = ratio("legacy_daily_run")

    # Backfill as Airflow runs one (`airflow backfill create`, oldest first): each date's run loads
    # its partition, then builds its marts; the marts of a date are timed (as the daily runs
    # are), the load is not. Today's runner is timed after dbt on the same warehouse state.
    # (Until 2026-12-07 every date was loaded before the first run: that run then built all 30
    # dates at once, the one-invocation cost below, and each later run rebuilt its own date.)
    db.unlink(missing_ok=True)
    wh = DuckDBWarehouse(dataclasses.replace(settings, duckdb_path=db))
    per_day, legacy = [], []
    for day in days[: args.backfill_days]:
        wh.load_events_partition(day, str(lake))
        s = time.perf_counter()
        build_marts(wh, day)
        per_day.append(time.perf_counter() - s)
        s = time.perf_counter()
        legacy_build(wh, day)
        legacy.append(time.perf_counter() - s)
    backfill = sum(per_day)
    wh.close()
    # The same 30 dates in one dbt invocation (shopflow.marts.build_range; what the demo does).
    db.unlink(missing_ok=True)
    wh = DuckDBWarehouse(dataclasses.replace(settings, duckdb_path=db))
    for day in days[: args.backfill_days]:
        wh.load_events_partition(day, str(lake))
    t = time.perf_counter()
    build_range(wh, days[: args.backfill_days])
    one_build = time.perf_counter() - t
    wh.close()
    one_day = result["daily_run"]["30"]["median_seconds"]
    result["backfill"] = {
        "procedure": "per date, oldest first: load the date, then its marts (timed)",
        "days": args.backfill_days, "seconds": round(backfill, 1), "per_day_median": round(statistics.median(per_day), 2),
        "per_day_seconds": [round(x, 2) for x in per_day],
        "vs_one_day": round(backfill / one_day, 1), "legacy_seconds": round(sum(legacy), 1),
        "legacy_vs_one_day": round(sum(legacy) / result["legacy_daily_run"]["30"]["median_seconds"], 1),
        "one_invocation_seconds": round(one_build, 1),
        "one_invocation_vs_one_day": round(one_build / one_day, 1),
    }
    result["targets"] = {"ratio_90_vs_7 <= 1.25": result["ratio_90_vs_7"] <= 1.25,
                         "backfill_vs_one_day <= 30": result["backfill"]["vs_one_day"] <= 30}
    write_result("dbt_marts", result)
    print(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
