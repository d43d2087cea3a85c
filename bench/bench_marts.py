"""Every SQL mart for a generated month on DuckDB, against a plain scan of the same Parquet.

Setup (timed, reported, not part of the target):

1. ``shopflow generate --scale S --days 30`` writes a month of landing files (S = 1.0 is the
   real November file: 67.5M rows).
2. DuckDB stands in for the Spark cleaning job and converts each day's CSV into a lake partition
   (``lake/events/event_date=D/part-0.parquet`` with the lake's columns and types, exact
   duplicates dropped) plus its manifest, so the benchmark needs no JVM.
3. ``DuckDBWarehouse.load_events_partition`` loads the 30 dates.

Measured, in the same run, ``--repeat`` times each, as medians:

* floor: ``select event_type, count(*) from read_parquet(<lake>) group by event_type``;
* context: one ``group by event_date, user_id, user_session`` over the same Parquet, the least
  work any session figure needs (not part of the target);
* marts: ``shopflow.marts.build_marts(wh, <last date>, window_days=30)``, every model rebuilt;
* checks: ``run_checks`` for the last date (reported beside, not in the target).

Target: marts / floor <= 5. The generated lake is kept under $SHOPFLOW_BENCH_DIR
(default /tmp/shopflow-bench)/marts/ and reused by later runs of the same size; ``--fresh``
rebuilds it.

Run: ``make bench`` or ``.venv/bin/python -m bench.bench_marts [--scale 1.0] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench.common import peak_rss_mb, timed, write_result

TARGET_RATIO = 5.0


def lake_sql(csv: str, parquet: str) -> str:
    """CSV of one day -> lake Parquet, as the cleaning job's contract describes it."""
    return f"""
    copy (
        with raw as (
            select distinct * from read_csv('{csv}', header = true, all_varchar = true)
        ),
        typed as (
            select
                cast(strptime(event_time, '%Y-%m-%d %H:%M:%S UTC') as timestamptz) as event_time,
                event_type,
                cast(product_id as bigint) as product_id,
                cast(category_id as bigint) as category_id,
                nullif(category_code, '') as category_code,
                nullif(brand, '') as brand,
                cast(price as double) as price,
                cast(user_id as bigint) as user_id,
                user_session
            from raw
        )
        select
            event_time,
            cast(event_time as date) as event_date,
            cast(extract(hour from event_time) as bigint) as event_hour,
            cast(isodow(event_time) as bigint) as event_weekday,
            event_type,
            product_id,
            category_id,
            category_code,
            split_part(category_code, '.', 1) as category,
            case when len(string_split(category_code, '.')) > 1 then split_part(category_code, '.', 2) end as sub_category,
            case when len(string_split(category_code, '.')) > 1 then string_split(category_code, '.')[-1] end as product,
            brand,
            price,
            user_id,
            user_session
        from typed
        order by event_time
    ) to '{parquet}' (format parquet, compression zstd, row_group_size 1000000)
    """


def build_lake(landing: Path, lake: Path) -> dict:
    import duckdb

    from shopflow.schema import QUARANTINE_REASONS

    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    stats = {}
    for csv in sorted(landing.glob("*.csv.gz")):
        day = csv.name[:10]
        folder = lake / "events" / f"event_date={day}"
        folder.mkdir(parents=True, exist_ok=True)
        started = dt.datetime.now(dt.timezone.utc)
        con.execute(lake_sql(str(csv), str(folder / "part-0.parquet")))
        rows_in = con.execute(f"select count(*) from read_csv('{csv}', header = true, all_varchar = true)").fetchall()[0][0]
        valid = con.execute(f"select count(*) from read_parquet('{folder / 'part-0.parquet'}')").fetchall()[0][0]
        manifest = {
            "event_date": day, "source": str(csv), "source_sha256": "", "job_version": "bench-duckdb",
            "rows_in": rows_in, "rows_valid": valid, "duplicates_dropped": rows_in - valid, "rows_quarantined": 0,
            "quarantined_by_reason": {r: 0 for r in QUARANTINE_REASONS}, "checksum": "",
            "started_at": started.isoformat(), "finished_at": dt.datetime.now(dt.timezone.utc).isoformat(),
        }
        (lake / "manifests").mkdir(parents=True, exist_ok=True)
        (lake / "manifests" / f"{day}.json").write_text(json.dumps(manifest))
        stats[day] = valid
        print(f"lake {day}: {valid:,} rows", flush=True)
    con.close()
    return stats


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=float(os.environ.get("SHOPFLOW_BENCH_MARTS_SCALE", "1.0")))
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--fresh", action="store_true", help="regenerate the landing files and the lake")
    args = ap.parse_args(argv)

    root = Path(os.environ.get("SHOPFLOW_BENCH_DIR", "/tmp/shopflow-bench")) / "marts" / f"scale-{args.scale:g}-days-{args.days}"
    landing, lake, db = root / "landing", root / "lake", root / "warehouse.duckdb"
    setup = {}
    if args.fresh:
        shutil.rmtree(root, ignore_errors=True)
    if not (lake / ".complete").exists():
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        shopflow = str(Path(sys.executable).with_name("shopflow"))
        started = time.perf_counter()
        subprocess.run(
            [shopflow, "generate", "--out", str(landing), "--scale", str(args.scale), "--days", str(args.days)],
            check=True,
        )
        setup["generate_seconds"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        build_lake(landing, lake)
        setup["csv_to_lake_parquet_seconds"] = round(time.perf_counter() - started, 1)
        shutil.rmtree(landing)  # the lake is all the benchmark reads
        (lake / ".complete").write_text("ok\n")
    else:
        print(f"reusing the lake in {lake}", flush=True)

    import duckdb

    from shopflow.config import get_settings
    from shopflow.marts import build_marts, run_checks
    from shopflow.warehouse.duckdb import DuckDBWarehouse

    days = sorted(p.name.split("=", 1)[1] for p in (lake / "events").glob("event_date=*"))
    db.unlink(missing_ok=True)
    settings = dataclasses.replace(get_settings(), duckdb_path=db)
    wh = DuckDBWarehouse(settings)
    started = time.perf_counter()
    for day in days:
        wh.load_events_partition(dt.date.fromisoformat(day), str(lake))
    setup["load_seconds"] = round(time.perf_counter() - started, 1)
    rows = int(wh.query("select count(*) as n from events")["n"].iloc[0])
    lake_bytes = sum(p.stat().st_size for p in (lake / "events").rglob("*.parquet"))
    print(f"{rows:,} rows loaded from {lake_bytes / 2**30:.2f} GiB of Parquet in {setup['load_seconds']} s", flush=True)

    scan = duckdb.connect()
    files = str(lake / "events" / "*" / "*.parquet")

    def floor():
        return scan.execute(
            f"select event_type, count(*) from read_parquet('{files}', hive_partitioning = false) group by event_type"
        ).fetchall()

    floor_median, floor_runs, floor_result = timed(floor, repeat=args.repeat)
    assert sum(n for _, n in floor_result) == rows

    def session_pass():
        # Context, not the target: the one grouping any session metric needs at least.
        return scan.execute(
            f"select count(*) from (select event_date, user_id, user_session, count(*) "
            f"from read_parquet('{files}', hive_partitioning = false) group by all)"
        ).fetchall()

    session_median, session_runs, _ = timed(session_pass, repeat=args.repeat)

    run_date = dt.date.fromisoformat(days[-1])
    def marts():
        return build_marts(wh, run_date, window_days=args.days)

    marts_median, marts_runs, _ = timed(marts, repeat=args.repeat)
    checks_median, checks_runs, _ = timed(lambda: run_checks(wh, run_date), repeat=args.repeat)

    summary = wh.query("select * from mart_period_summary where as_of_date = @d order by scope", {"d": run_date})
    figures = {
        r.scope: {
            "n_events": int(r.n_events), "n_views": int(r.n_views), "n_carts": int(r.n_carts),
            "n_purchases": int(r.n_purchases), "n_users": int(r.n_users), "n_sessions": int(r.n_sessions),
            "conversion_rate_events": round(float(r.conversion_rate_events), 5),
        }
        for r in summary.itertuples()
    }
    wh.close()
    ratio = marts_median / floor_median
    result = {
        "command": f"python -m bench.bench_marts --scale {args.scale:g} --days {args.days} --repeat {args.repeat}",
        "data": {
            "scale": args.scale, "days": args.days, "rows": rows, "lake_parquet_gib": round(lake_bytes / 2**30, 2),
            "lake_built_by": "DuckDB from `shopflow generate` CSV (stand-in for the Spark job)",
        },
        "setup": setup,
        "floor_count_group_by_event_type": {"median_seconds": round(floor_median, 3), "runs": [round(t, 3) for t in floor_runs]},
        "session_pass_baseline": {
            "what": "group by (event_date, user_id, user_session) over the same Parquet (context only)",
            "median_seconds": round(session_median, 3),
            "runs": [round(t, 3) for t in session_runs],
        },
        "all_marts": {"median_seconds": round(marts_median, 3), "runs": [round(t, 3) for t in marts_runs]},
        "checks_median_seconds": round(checks_median, 3),
        "marts_vs_floor_ratio": round(ratio, 2),
        "marts_vs_session_pass_ratio": round(marts_median / session_median, 2),
        "target_ratio_max": TARGET_RATIO,
        "meets_target": ratio <= TARGET_RATIO,
        "peak_rss_mb": round(peak_rss_mb()),
        "period_figures": figures,
    }
    write_result("marts", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
