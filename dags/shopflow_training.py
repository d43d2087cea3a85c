"""
### shopflow_training: recommenders on fresh marts, tracked in MLflow

Runs when `shopflow_daily` announces fresh marts (the `shopflow_marts` asset), or from
the UI with the form below. For the run date (the `run_date` param, else the newest date
announced, else the newest date loaded):

1. **train_als**: implicit ALS on purchases over the window ending at the run date; both
   evaluation protocols (random 20% mask, as the reference, and temporal: the last 7 days)
   against a popularity baseline; params, per-iteration `loss` and every metric logged to
   MLflow experiment `shopflow-als`; the model registered, and the `champion` alias moved
   only if it beats the champion on temporal `ndcg_at_15`. With `sweep`, one child run per
   setting under a parent run.
2. **train_content**: TF-IDF over category levels and brand plus scaled price, reduced to
   100 dimensions, an Annoy index; Annoy recall and next-view hit rate logged to
   `shopflow-content`.
3. **publish**: hybrid recommendations from the champions into `rec_user_items`,
   `rec_similar_items` and `rec_category_bestsellers` (replaced per run date).
4. **report**: the dashboard is redrawn with the new model figures.

Compare runs in the MLflow UI (`make mlflow`).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Asset, Param, task

import shopflow_operators as ops
from shopflow import pipeline
from shopflow.config import get_settings

get_settings()  # an impossible mix of backends fails the parse here, with what to change
MARTS = Asset(name=pipeline.MARTS_ASSET_NAME, uri=pipeline.MARTS_ASSET_URI)

with DAG(
    dag_id="shopflow_training",
    description="ALS + content recommenders on fresh marts, MLflow tracking, rec_* tables",
    schedule=[MARTS],
    start_date=pendulum.datetime(2019, 10, 1, tz="UTC"),  # runs on assets or by hand, no catchup
    catchup=False,
    max_active_runs=1,
    default_args=ops.DEFAULT_ARGS,
    params={
        "run_date": Param(None, type=["null", "string"], format="date", description="last day of the training window"),
        "factors": Param(30, type="integer", minimum=1, maximum=512, description="ALS latent factors"),
        "regularization": Param(0.1, type="number", minimum=0, description="ALS L2 regularization"),
        "alpha": Param(40.0, type="number", exclusiveMinimum=0, description="ALS confidence scaling, above 0"),
        "iterations": Param(30, type="integer", minimum=1, maximum=500, description="ALS iterations"),
        "sweep": Param(False, type="boolean", description="grid sweep: one child run per setting"),
        "window_days": Param(30, type="integer", minimum=2, maximum=400,
                             description="days of events used (the last 7, or all but the first, are held out)"),
    },
    tags=["shopflow", "training", "mlflow"],
    doc_md=__doc__,
) as dag:

    @task(pool=pipeline.WAREHOUSE_POOL)
    def resolve_run_date(params=None, triggering_asset_events=None) -> str:
        announced = []
        for events in (triggering_asset_events or {}).values():
            announced.extend(e.extra.get("run_date") for e in events if e.extra.get("run_date"))
        return pipeline.training_date(params.get("run_date"), announced)

    # Training reads the lake's Parquet (shopflow.lake_reader): it holds no warehouse slot and
    # meets no lock, so daily loads go on while models fit.
    @task
    def train_als(run_date: str, params=None) -> dict:
        keys = ("factors", "regularization", "alpha", "iterations", "window_days")
        return pipeline.train_als(run_date, {k: params[k] for k in keys}, sweep=params["sweep"])

    @task
    def train_content(run_date: str, params=None) -> dict:
        return pipeline.train_content(run_date, {"window_days": params["window_days"]})

    @task(pool=pipeline.WAREHOUSE_POOL)
    def publish(run_date: str) -> dict:
        return pipeline.publish(run_date)

    # The report reads the export its run wrote while holding the slot (shopflow.report.snapshot):
    # it takes no slot and meets no lock.
    @task
    def report(day: str) -> str:
        return pipeline.build_report(day)

    run_date = resolve_run_date()
    [train_als(run_date), train_content(run_date)] >> publish(run_date) >> report(run_date)
