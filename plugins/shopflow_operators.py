"""Operators of the shopflow DAGs, local or Google Cloud, chosen by one setting.

``SHOPFLOW_DEPLOYMENT=local`` (default): a file sensor on the landing folder,
``spark-submit`` through the ``spark_default`` connection, DuckDB steps in Python tasks.
``SHOPFLOW_DEPLOYMENT=gcp``: a GCS object sensor, a Dataproc Serverless batch (or a job on
SHOPFLOW_DATAPROC_CLUSTER), a GCS-to-BigQuery load of the date's partition, and the marts as
BigQuery query jobs. The DAG files call these factories and stay the same in both modes.

Only settings from the environment are read here (no connection or Variable lookups at
parse time); provider modules are imported inside the factories of the mode in use.
"""

from __future__ import annotations

import datetime as dt

from shopflow import pipeline
from shopflow.config import Settings
from shopflow.runtime import REPO_ROOT

#: The date a run processes, as pushed by the DAG's ``resolve_date`` task.
DATE = "{{ ti.xcom_pull(task_ids='resolve_date') }}"

DEFAULT_ARGS = {
    "owner": "shopflow",
    "retries": 2,
    "retry_delay": dt.timedelta(minutes=1),
    "retry_exponential_backoff": True,
    "max_retry_delay": dt.timedelta(minutes=15),
    "on_failure_callback": pipeline.log_failure,
}


def _gcs_parts(uri: str) -> tuple[str, str]:
    if not uri.startswith("gs://"):
        raise ValueError(f"SHOPFLOW_DEPLOYMENT=gcp needs gs:// locations, not {uri!r}")
    bucket, _, prefix = uri[len("gs://"):].partition("/")
    return bucket, prefix.strip("/")


def _landing_ready_or_fail(day: str) -> bool:
    """``pipeline.landing_ready`` for the sensor: an overdue file fails the task without retries."""
    from airflow.sdk.exceptions import AirflowFailException

    try:
        return pipeline.landing_ready(day)
    except pipeline.LandingOverdue as exc:
        raise AirflowFailException(str(exc)) from None


def landing_sensor(settings: Settings):
    """Wait for the day's landing file, releasing the worker slot between pokes.

    Locally the wait ends at the file's deadline (the end of the day plus
    SHOPFLOW_LANDING_GRACE_HOURS): a past date without its file fails at the first poke.
    """
    common = dict(task_id="wait_for_landing", mode="reschedule", poke_interval=300)
    if settings.deployment == "gcp":
        from airflow.providers.google.cloud.sensors.gcs import GCSObjectExistenceSensor

        bucket, prefix = _gcs_parts(settings.landing)
        return GCSObjectExistenceSensor(bucket=bucket, object=f"{prefix}/{DATE}.csv.gz", timeout=12 * 3600, **common)
    from airflow.providers.standard.sensors.python import PythonSensor

    return PythonSensor(
        python_callable=_landing_ready_or_fail,
        op_args=[DATE],
        timeout=(24 + settings.landing_grace_hours) * 3600,
        **common,
    )


def clean_operator(settings: Settings):
    """The Spark cleaning job for the run's date."""
    args = ["--date", DATE, "--landing", settings.landing, "--lake", settings.lake]
    if settings.deployment == "gcp":
        return _dataproc_clean(settings, args)
    from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

    return SparkSubmitOperator(
        task_id="clean_events",
        application=str(REPO_ROOT / "jobs" / "clean_events.py"),
        conn_id="spark_default",
        application_args=args,
        name="shopflow-clean-" + DATE,
        driver_memory="2g",
        conf={"spark.ui.showConsoleProgress": "false"},
        env_vars={"SPARK_LOCAL_IP": "127.0.0.1"},
    )


def _dataproc_clean(settings: Settings, args: list[str]):
    if not (settings.bq_project and settings.gcp_region and settings.code_uri):
        raise ValueError("gcp deployment needs SHOPFLOW_BQ_PROJECT, SHOPFLOW_GCP_REGION and SHOPFLOW_CODE_URI")
    main = f"{settings.code_uri.rstrip('/')}/jobs/clean_events.py"
    package = f"{settings.code_uri.rstrip('/')}/shopflow.zip"
    if settings.dataproc_cluster:
        from airflow.providers.google.cloud.operators.dataproc import DataprocSubmitJobOperator

        return DataprocSubmitJobOperator(
            task_id="clean_events",
            project_id=settings.bq_project,
            region=settings.gcp_region,
            job={
                "placement": {"cluster_name": settings.dataproc_cluster},
                "pyspark_job": {"main_python_file_uri": main, "python_file_uris": [package], "args": args},
            },
        )
    from airflow.providers.google.cloud.operators.dataproc import DataprocCreateBatchOperator

    return DataprocCreateBatchOperator(
        task_id="clean_events",
        project_id=settings.bq_project,
        region=settings.gcp_region,
        batch_id="shopflow-clean-{{ ti.xcom_pull(task_ids='resolve_date') | replace('-', '') }}-{{ ti.try_number }}",
        batch={
            "pyspark_batch": {"main_python_file_uri": main, "python_file_uris": [package], "args": args},
            "runtime_config": {"version": "2.3", "properties": {"spark.sql.session.timeZone": "UTC"}},
        },
    )


def events_load_operator(settings: Settings):
    """GCP only: load the date's lake partition into the BigQuery ``events`` partition."""
    from airflow.providers.google.cloud.transfers.gcs_to_bigquery import GCSToBigQueryOperator

    from shopflow.schema import EVENTS_SCHEMA

    bucket, prefix = _gcs_parts(settings.lake)
    return GCSToBigQueryOperator(
        task_id="load_events",
        bucket=bucket,
        source_objects=[f"{prefix}/events/event_date={DATE}/*.parquet"],
        destination_project_dataset_table=(
            f"{settings.bq_project}.{settings.bq_dataset}.events$"
            "{{ ti.xcom_pull(task_ids='resolve_date') | replace('-', '') }}"
        ),
        source_format="PARQUET",
        write_disposition="WRITE_TRUNCATE",
        create_disposition="CREATE_IF_NEEDED",
        time_partitioning={"type": "DAY", "field": "event_date"},
        schema_fields=[{"name": n, "type": t, "mode": "NULLABLE"} for n, t in EVENTS_SCHEMA],
        pool=pipeline.WAREHOUSE_POOL,
    )
