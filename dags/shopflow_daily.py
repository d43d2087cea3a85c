"""
### shopflow_daily: one day of the event log, from landing file to checked marts

For the run's date D (its logical date, or the `date` param of a manual run, never the clock):

1. **wait_for_landing**: `landing/D.csv.gz` exists (GCS sensor on Google Cloud). Locally a file
   still missing 12 hours after the end of D (`SHOPFLOW_LANDING_GRACE_HOURS`) fails the run.
2. **decide_clean**: skip Spark when `lake/events/event_date=D` was already built from this
   very landing file by this job version (for instance by a bulk range job before a
   backfill); the `force_clean` param forces it.
3. **clean_events**: `jobs/clean_events.py` with spark-submit (`spark_default`), or a
   Dataproc batch: typed, validated, deduplicated Parquet, quarantine and manifest.
4. **load_events**: replace the warehouse `events` partition D (DuckDB transaction, or a
   BigQuery load with WRITE_TRUNCATE on `events$D`) and record D's manifest.
5. **plan_marts**, the **marts** task group, **record_marts**: the dbt project in `sql/`,
   rendered by Cosmos (one task per model and the data tests), builds the dates this run touches
   (D, and any date loaded since its marts were built) and the as-of snapshot of D; the data
   tests check every date built, and a failed one fails the run, naming the check and the
   date, after recording it in `dq_results`.
   With `defer_marts` a run stops after the load (`marts_wanted`); the next run builds every
   date loaded since, and `marts_from` adds the as-of snapshots of the deferred dates (the
   demo runs 30 dates this way: one dbt build instead of 30). **publish_marts** then
   announces the `shopflow_marts` asset, which
   schedules `shopflow_training`, and **report** redraws the dashboard.

Every task replaces what it wrote for D, so reruns and backfills are safe. Warehouse tasks
share the `shopflow_warehouse` pool (DuckDB has one writer); the report reads a Parquet export
of its date that `record_marts` writes, so it holds no slot. Backfill a range with
`make backfill FROM=2019-11-01 TO=2019-11-30`.
"""

from __future__ import annotations

import pendulum
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, Asset, Param, task
from airflow.timetables.interval import CronDataIntervalTimetable

import shopflow_dbt
import shopflow_operators as ops
from shopflow import pipeline
from shopflow.config import get_settings

settings = get_settings()
MARTS = Asset(name=pipeline.MARTS_ASSET_NAME, uri=pipeline.MARTS_ASSET_URI)

with DAG(
    dag_id="shopflow_daily",
    description="landing file -> Spark clean -> warehouse partition -> marts -> checks",
    # Date D runs once D is over (logical date D, run after D+1 00:00 UTC), as data intervals do.
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.datetime(*settings.start_date.timetuple()[:3], tz="UTC"),
    catchup=settings.catchup,
    max_active_runs=2,
    default_args=ops.DEFAULT_ARGS,
    params={
        "date": Param(None, type=["null", "string"], format="date", description="date to process (manual runs)"),
        "force_clean": Param(False, type="boolean", description="rerun Spark even if the lake partition is current"),
        "defer_marts": Param(False, type="boolean",
                             description="load only: a later run builds this date's marts (shopflow demo, bulk loads)"),
        "marts_from": Param(None, type=["null", "string"], format="date",
                            description="also build the as-of snapshots of every date from this one (after deferred runs)"),
    },
    tags=["shopflow", "daily", "etl"],
    doc_md=__doc__,
) as dag:

    @task
    def resolve_date(params=None, logical_date=None) -> str:
        return pipeline.resolve_date(logical_date, params.get("date"))

    @task.branch
    def decide_clean(day: str, params=None) -> str:
        return "clean_events" if pipeline.clean_needed(day, params.get("force_clean")) else "skip_clean"

    day = resolve_date()
    wait = ops.landing_sensor(settings)
    decision = decide_clean(day)
    clean = ops.clean_operator(settings)
    skip = EmptyOperator(task_id="skip_clean")

    if settings.deployment == "gcp":
        load = ops.events_load_operator(settings)

        @task(pool=pipeline.WAREHOUSE_POOL, trigger_rule="none_failed_min_one_success")
        def record_manifest(day: str) -> int:
            return pipeline.record_manifest(day)

        loaded = record_manifest(day)
        load.trigger_rule = "none_failed_min_one_success"
        [clean, skip] >> load >> loaded
    else:

        @task(pool=pipeline.WAREHOUSE_POOL, trigger_rule="none_failed_min_one_success")
        def load_events(day: str) -> int:
            return pipeline.load_partition(day)

        load = loaded = load_events(day)
        [clean, skip] >> load

    @task.short_circuit
    def marts_wanted(params=None) -> bool:
        return not params.get("defer_marts")

    @task(pool=pipeline.WAREHOUSE_POOL)
    def plan_marts(day: str, params=None) -> dict:
        return pipeline.plan_marts(day, as_of_from=params.get("marts_from"))

    @task(pool=pipeline.WAREHOUSE_POOL)
    def record_marts(plan: dict) -> str:
        return pipeline.record_marts(plan)

    @task(outlets=[MARTS])
    def publish_marts(day: str, outlet_events=None) -> str:
        outlet_events[MARTS].extra = {"run_date": day}
        return day

    # The report reads the export its run wrote while holding the slot (shopflow.report.snapshot):
    # it takes no slot and meets no lock.
    @task
    def report(day: str) -> str:
        return pipeline.build_report(day)

    plan = plan_marts(day)
    marts = shopflow_dbt.marts_task_group(settings)
    recorded = record_marts(plan)
    announced = publish_marts(day)
    day >> wait >> decision >> [clean, skip]
    loaded >> marts_wanted() >> plan >> marts >> recorded >> announced >> report(day)
