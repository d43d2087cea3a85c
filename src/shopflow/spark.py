"""The one SparkSession factory used by jobs, tasks and tests."""

from __future__ import annotations

import os


def build_session(app_name: str = "shopflow", master: str | None = None, conf: dict | None = None):
    """Return a SparkSession configured for this project.

    ``master`` defaults to SHOPFLOW_SPARK_MASTER (``local[2]``). Under spark-submit or on
    Dataproc the master is already set by the launcher and is left alone.
    """
    from pyspark.sql import SparkSession

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = SparkSession.builder.appName(app_name)
    launched = "SPARK_SUBMIT_OPTS" in os.environ or os.environ.get("SPARK_ENV_LOADED")
    if master or not launched:
        builder = builder.master(master or os.environ.get("SHOPFLOW_SPARK_MASTER", "local[2]"))
    settings = {
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
        "spark.ui.showConsoleProgress": "false",
    }
    settings.update(conf or {})
    for key, value in settings.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()
