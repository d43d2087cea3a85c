"""``shopflow demo`` (``make demo``): the whole pipeline on a sample month, through Airflow.

1. Generate a sample month into the landing folder (or land a real export given with
   ``--data path/2019-Nov.csv``).
2. Build the lake for the whole range with ONE Spark job (one JVM start instead of one per
   date); the daily runs then find their partitions current and skip Spark.
3. Run ``shopflow_daily`` for every date through Airflow (``dag.test`` in this process: one
   interpreter and one Airflow start for the month), printing a line per date.
4. Run ``shopflow_training`` (ALS + content models, MLflow, rec_* tables, dashboard).
5. Print where the results are and the headline figures.

Rerunning it replaces everything it wrote; unchanged inputs are not reprocessed by Spark.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path

from shopflow.config import get_settings
from shopflow.queries import query_sql

DEMO_SCALE = 0.02


def add_arguments(parser) -> None:
    from shopflow.errors import date_arg, int_range, positive_float

    parser.add_argument("--data", metavar="EXPORT",
                        help="land this real export (CSV or CSV.gz) instead of generating a month; "
                             "only the dates it has rows for are run")
    parser.add_argument("--repair-float-ids", action="store_true",
                        help="with --data: restore ids written as floats by pandas (shopflow land --repair-float-ids)")
    parser.add_argument("--scale", type=positive_float, default=DEMO_SCALE,
                        help=f"generated sample size, 1.0 = the real month ({DEMO_SCALE}); ignored with --data")
    parser.add_argument("--start", type=date_arg, default=dt.date(2019, 11, 1),
                        help="first generated date, YYYY-MM-DD (2019-11-01); ignored with --data")
    parser.add_argument("--days", type=int_range(1), default=30,
                        help="number of generated days (30); ignored with --data")
    parser.add_argument("--seed", type=int, default=46, help="seed of the generated sample (46); ignored with --data")
    parser.add_argument("--skip-training", action="store_true",
                        help="stop after the daily runs: no shopflow_training (models, recommendations)")


def _step(text: str) -> None:
    print(f"\n== {text}", flush=True)


def run(args) -> int:
    from shopflow import airflow_local, pipeline

    from shopflow.dates import date_range, describe
    from shopflow.errors import UserError, existing_file
    from shopflow.progress import bytes_and_rows, spark_job, steps

    settings = get_settings()
    if args.data:
        existing_file(args.data, "export")  # before anything starts
    started = time.perf_counter()
    print(f"shopflow demo: SHOPFLOW_HOME={settings.home}", flush=True)

    if args.data:
        from shopflow.landing import land

        _step(f"landing {args.data}")
        with bytes_and_rows("landing", Path(args.data).stat().st_size) as update:
            report = land(args.data, settings.landing, repair_float_ids=args.repair_float_ids, progress=update)
        dates = sorted(report.per_day)
        print(f"  {report.rows_in:,} rows in = {report.rows_landed:,} landed + {report.rows_rejected:,} rejected")
        if report.repairs:
            print("  float ids repaired: " + ", ".join(f"{k}: {v:,}" for k, v in sorted(report.repairs.items())))
        if not dates:
            raise UserError(f"{args.data}: no row could be landed ({report.rows_rejected:,} rejected, see "
                            f"{report.rejects_file}); check that it is a REES46 export")
        gaps = sorted(set(d.isoformat() for d in date_range(dates[0], dates[-1])) - set(dates))
        if gaps:
            print(f"  the export has rows for {len(dates)} of the {len(dates) + len(gaps)} dates in "
                  f"{dates[0]}..{dates[-1]}; no rows for {describe(gaps)}: those dates are skipped")
        if dt.date.fromisoformat(dates[0]) < settings.start_date:
            # The DAG reads its start date when this process parses it below.
            os.environ["SHOPFLOW_START_DATE"] = dates[0]
            print(f"  SHOPFLOW_START_DATE={dates[0]} for this export (set it too for `make airflow` on these dates)")
    else:
        from shopflow import generate

        cfg = generate.GeneratorConfig.from_scale(args.scale, start=args.start, days=args.days, seed=args.seed)
        _step(f"generating {cfg.days} days from {cfg.start} (scale {args.scale}: ~{cfg.events_per_day:,} events a day)")
        with steps("generating", cfg.days, "days") as done:
            # generate() logs a line per day ("YYYY-MM-DD: ...") and then its summary.
            summary = generate.generate(cfg, settings.landing, log=lambda text: done(advance=int(text[:4].isdigit())))
        print(f"  {summary['rows']:,} rows in {summary['seconds']:.1f} s -> {settings.landing}")
        dates = sorted(summary["days"])
    first, last = dates[0], dates[-1]

    _step(f"Spark: cleaning {first}..{last} in one job")
    t = time.perf_counter()
    with spark_job("Spark", len(dates)) as (on_progress, on_date):
        built = pipeline.clean_range(first, last, on_date=on_date, on_progress=on_progress)
    print(f"  {len(built)} partitions built in {time.perf_counter() - t:.0f} s"
          if built else "  lake already current for every date (nothing to do)")

    _step("Airflow: shopflow_daily for every date")
    t = time.perf_counter()
    airflow_local.prepare_metadata_db()
    # One dbt build for the month (the last run), not one per date: a dbt start costs seconds.
    airflow_local.run_daily(dates, defer_marts=True)
    print(f"  {len(dates)} runs in {time.perf_counter() - t:.0f} s")

    if not args.skip_training:
        _step("Airflow: shopflow_training")
        airflow_local.run_training(last)

    _step("results")
    print_summary(settings, first, last)
    print(f"\ndemo finished in {time.perf_counter() - started:.0f} s", flush=True)
    return 0


def print_summary(settings, first: str, last: str) -> None:
    from shopflow.warehouse import get_warehouse

    home = Path(settings.home)
    print(f"  warehouse:       {settings.duckdb_path if settings.warehouse == 'duckdb' else settings.bq_dataset}")
    print(f"  lake:            {settings.lake}")
    print(f"  MLflow runs:     {settings.mlflow_uri}  (make mlflow -> http://127.0.0.1:5000)")
    print(f"  recommendations: tables rec_user_items, rec_similar_items, rec_category_bestsellers;"
          " try: .venv/bin/shopflow recommend --user <user_id>")
    print(f"  dashboard:       {home / 'reports' / 'dashboard.html'}  (make dashboard)")
    print(f"  Airflow:         make airflow -> http://127.0.0.1:8080 (runs above are in its history)")
    with get_warehouse(settings) as wh:
        funnel = wh.query(
            query_sql("demo/funnel_totals"),
            {"first": dt.date.fromisoformat(first), "last": dt.date.fromisoformat(last)},
        ).iloc[0]
        rec_rows = wh.query(query_sql("demo/recommendation_rows")).iloc[0] \
            if wh.table_exists("rec_user_items") else None
    events, purchases = int(funnel["events"]), int(funnel["purchases"])
    print(f"\n  {first}..{last}: {events:,} events, {int(funnel['views']):,} views, {int(funnel['carts']):,} carts,"
          f" {purchases:,} purchases, revenue {float(funnel['revenue']):,.2f}")
    print(f"  conversion (purchases / all events, the reference's 1.57% definition): {purchases / events:.2%}")
    if rec_rows is not None:
        print(f"  recommendations: {int(rec_rows['n']):,} rows for {int(rec_rows['users']):,} users")
    _print_model_figures(settings)


def _print_model_figures(settings) -> None:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=settings.mlflow_uri)
    experiment = client.get_experiment_by_name("shopflow-als")
    if experiment is None:
        return
    runs = client.search_runs([experiment.experiment_id], order_by=["attributes.start_time DESC"], max_results=1)
    if not runs:
        return
    metrics = runs[0].data.metrics
    shown = [k for k in sorted(metrics) if k.endswith("_at_15") or k.endswith("coverage")]
    print("  latest ALS run " + runs[0].info.run_id[:8] + ":")
    for key in shown:
        print(f"    {key:40s} {metrics[key]:.4f}")
