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
from shopflow.config import Settings, join
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
    Where a triggerer runs (SHOPFLOW_DEFERRABLE_SENSORS, on in the team and gcp profiles) the
    sensor defers: the wait costs no worker slot and no task start per poke.
    """
    common = dict(task_id="wait_for_landing", mode="reschedule", poke_interval=300)
    if settings.deployment == "gcp":
        from airflow.providers.google.cloud.sensors.gcs import GCSObjectExistenceSensor

        bucket, prefix = _gcs_parts(settings.landing)
        if settings.deferrable_sensors:
            common = dict(task_id="wait_for_landing", poke_interval=300, deferrable=True)
        return GCSObjectExistenceSensor(bucket=bucket, object=f"{prefix}/{DATE}.csv.gz", timeout=12 * 3600, **common)
    if settings.deferrable_sensors:
        return _deferrable_landing_sensor(settings)
    from airflow.providers.standard.sensors.python import PythonSensor

    return PythonSensor(
        python_callable=_landing_ready_or_fail,
        op_args=[DATE],
        timeout=(24 + settings.landing_grace_hours) * 3600,
        **common,
    )


def _deferrable_landing_sensor(settings: Settings):
    from airflow.providers.standard.sensors.filesystem import FileSensor
    from airflow.providers.standard.triggers.file import FileTrigger

    class LandingFileSensor(FileSensor):
        """landing/D.csv(.gz): present -> done; past its deadline -> fail; else defer until
        the file appears or the deadline passes."""

        template_fields = ("filepath", "day")

        def __init__(self, *, day: str, grace_hours: int, **kwargs):
            super().__init__(deferrable=True, **kwargs)
            self.day = day
            self.grace_hours = grace_hours

        @property
        def path(self) -> str:  # a plain path, not relative to an fs_default connection
            return self.filepath

        def execute(self, context) -> None:
            if _landing_ready_or_fail(self.day):
                return
            now = dt.datetime.now(dt.timezone.utc)
            self.defer(
                trigger=FileTrigger(filepath=self.filepath, poke_interval=self.poke_interval),
                timeout=pipeline.landing_deadline(self.day, self.grace_hours) - now,
                method_name="execute_complete",
            )

    return LandingFileSensor(
        task_id="wait_for_landing",
        day=DATE,
        grace_hours=settings.landing_grace_hours,
        filepath=join(settings.landing, DATE + ".csv*"),
        poke_interval=60,
        timeout=(24 + settings.landing_grace_hours) * 3600,
    )


def spark_network(settings: Settings) -> tuple[dict[str, str], dict[str, str]]:
    """Spark conf and environment for where the driver listens and how executors reach it.

    Both come from settings (SHOPFLOW_SPARK_DRIVER_HOST, SHOPFLOW_SPARK_BIND_ADDRESS; the
    compose file sets them per service): on a cluster the workers connect back to the driver,
    so a driver advertising loopback cannot be reached.
    """
    conf, env = {}, {}
    if settings.spark_driver_host:
        conf["spark.driver.host"] = settings.spark_driver_host
    if settings.spark_bind_address:
        conf["spark.driver.bindAddress"] = settings.spark_bind_address
        env["SPARK_LOCAL_IP"] = settings.spark_bind_address
    if settings.spark_master.startswith("spark://"):
        # Two daily runs at once share the workers instead of the first taking every core.
        conf["spark.cores.max"] = "1"
    return conf, env


def clean_operator(settings: Settings):
    """The Spark cleaning job for the run's date."""
    args = ["--date", DATE, "--landing", settings.landing, "--lake", settings.lake]
    if settings.deployment == "gcp":
        return _dataproc_clean(settings, args)
    from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

    network_conf, network_env = spark_network(settings)
    return SparkSubmitOperator(
        task_id="clean_events",
        application=str(REPO_ROOT / "jobs" / "clean_events.py"),
        conn_id="spark_default",
        application_args=args,
        name="shopflow-clean-" + DATE,
        driver_memory="2g",
        conf={"spark.ui.showConsoleProgress": "false", **network_conf},
        env_vars=network_env,
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
