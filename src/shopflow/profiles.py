"""Deployment profiles: ``SHOPFLOW_PROFILE`` picks a set of backends that work together.

=====================  =====================  ==========================  ======================
backend                local (default)        team (docker-compose.yaml)  gcp
=====================  =====================  ==========================  ======================
deployment             local                  local                       gcp (Google operators)
landing and lake       $SHOPFLOW_HOME/...     $SHOPFLOW_HOME/... (volume) gs://... (must be set)
Spark master           local[2]               spark://spark-master:7077   Dataproc
Spark driver host      127.0.0.1              (must be set)               (Dataproc's own)
warehouse              duckdb                 duckdb                      bigquery
tracking URI           sqlite:///$HOME/...    http://mlflow:5000          (must be set: http...)
warehouse pool slots   1                      1                           4
deferrable sensors     no                     yes (a triggerer runs)      yes
=====================  =====================  ==========================  ======================

Each backend's own setting (SHOPFLOW_WAREHOUSE, SHOPFLOW_SPARK_MASTER, MLFLOW_TRACKING_URI, ...)
still overrides the profile, and the result is validated as a whole by :func:`validate`: a mix
that cannot work is refused when the settings are read, that is when Airflow parses the DAGs,
with a message naming what to change.
"""

from __future__ import annotations

from typing import Any, Callable
from urllib.parse import urlparse

PROFILES: dict[str, dict[str, Any]] = {
    "local": {
        "deployment": "local",
        "warehouse": "duckdb",
        "spark_master": "local[2]",
        "spark_driver_host": "127.0.0.1",
        "spark_bind_address": "127.0.0.1",
        "mlflow_uri": None,  # sqlite:///$SHOPFLOW_HOME/mlflow.db
        "bigquery_pool_slots": 4,
        "deferrable_sensors": False,
    },
    "team": {
        "deployment": "local",
        "warehouse": "duckdb",
        "spark_master": "spark://spark-master:7077",
        "spark_driver_host": None,
        "spark_bind_address": "0.0.0.0",
        "mlflow_uri": "http://mlflow:5000",
        "bigquery_pool_slots": 4,
        "deferrable_sensors": True,
    },
    "gcp": {
        "deployment": "gcp",
        "warehouse": "bigquery",
        "spark_master": "local[2]",  # unused: Dataproc runs the job
        "spark_driver_host": None,
        "spark_bind_address": None,
        "mlflow_uri": None,
        "bigquery_pool_slots": 4,
        "deferrable_sensors": True,
    },
}

_LOOPBACK = ("127.0.0.1", "localhost", "::1", "0.0.0.0")


def profile_defaults(name: str) -> dict[str, Any]:
    from shopflow.config import ConfigError

    try:
        return PROFILES[name]
    except KeyError:
        raise ConfigError(f"SHOPFLOW_PROFILE must be one of {', '.join(PROFILES)}, not {name!r}") from None


def pool_slots(warehouse: str, profile: str, value: str | None) -> int:
    """Slots of the ``shopflow_warehouse`` pool: 1 for DuckDB (one writer), else the profile's."""
    from shopflow.config import ConfigError

    if value is None:
        return 1 if warehouse == "duckdb" else profile_defaults(profile)["bigquery_pool_slots"]
    if not value.isdigit() or int(value) < 1:
        raise ConfigError(f"SHOPFLOW_WAREHOUSE_POOL_SLOTS must be a whole number above 0, not {value!r}")
    return int(value)


def _gcp_needs_bigquery(s) -> str | None:
    if s.deployment == "gcp" and s.warehouse != "bigquery":
        return (f"SHOPFLOW_DEPLOYMENT=gcp loads the lake into BigQuery, but SHOPFLOW_WAREHOUSE={s.warehouse}: "
                "set SHOPFLOW_WAREHOUSE=bigquery (or SHOPFLOW_PROFILE=gcp), or SHOPFLOW_DEPLOYMENT=local for DuckDB")
    return None


def _duckdb_one_writer(s) -> str | None:
    if s.warehouse == "duckdb" and s.warehouse_pool_slots != 1:
        return (f"the DuckDB warehouse allows one writer, but SHOPFLOW_WAREHOUSE_POOL_SLOTS={s.warehouse_pool_slots}: "
                "unset SHOPFLOW_WAREHOUSE_POOL_SLOTS (or set it to 1), or set SHOPFLOW_WAREHOUSE=bigquery")
    return None


def _duckdb_local_lake(s) -> str | None:
    if s.warehouse == "duckdb" and "://" in str(s.lake):
        return (f"the DuckDB warehouse loads from a local lake, not SHOPFLOW_LAKE={s.lake}: "
                "set SHOPFLOW_LAKE to a folder, or SHOPFLOW_WAREHOUSE=bigquery")
    return None


def _gcp_needs_gcs(s) -> str | None:
    if s.deployment != "gcp":
        return None
    wrong = [name for name, value in (("SHOPFLOW_LANDING", s.landing), ("SHOPFLOW_LAKE", s.lake))
             if not str(value).startswith("gs://")]
    if wrong:
        return (f"SHOPFLOW_DEPLOYMENT=gcp reads and writes Cloud Storage: set {' and '.join(wrong)} "
                "to gs://bucket/... locations")
    return None


def _bigquery_needs_project(s) -> str | None:
    if s.warehouse == "bigquery" and not s.bq_project:
        return "SHOPFLOW_WAREHOUSE=bigquery needs SHOPFLOW_BQ_PROJECT (a Google Cloud project id)"
    return None


def _cluster_reaches_driver(s) -> str | None:
    """In client mode the workers of a spark:// cluster connect back to the driver."""
    if s.deployment != "local" or not s.spark_master.startswith("spark://"):
        return None
    master_host = urlparse(s.spark_master).hostname or ""
    if master_host in _LOOPBACK:
        return None  # master and workers on this machine: loopback reaches the driver
    if not s.spark_driver_host or s.spark_driver_host in _LOOPBACK:
        return (f"SHOPFLOW_SPARK_MASTER={s.spark_master} runs executors on other hosts, which cannot reach a driver "
                f"at {s.spark_driver_host or 'an unset address'}: set SHOPFLOW_SPARK_DRIVER_HOST to this host's "
                "name as the Spark workers see it (and SHOPFLOW_SPARK_BIND_ADDRESS=0.0.0.0)")
    return None


def _shared_tracking_server(s) -> str | None:
    if s.profile != "local" and not s.mlflow_uri.startswith(("http://", "https://", "databricks")):
        return (f"SHOPFLOW_PROFILE={s.profile} runs tasks on several machines or containers, which cannot share "
                f"MLFLOW_TRACKING_URI={s.mlflow_uri or '(unset)'}: set it to the MLflow server, e.g. http://mlflow:5000")
    return None


#: Every rule: a function of the settings returning what to change, or None.
RULES: tuple[Callable[[Any], str | None], ...] = (
    _gcp_needs_bigquery,
    _duckdb_one_writer,
    _duckdb_local_lake,
    _gcp_needs_gcs,
    _bigquery_needs_project,
    _cluster_reaches_driver,
    _shared_tracking_server,
)


def problems(settings) -> list[str]:
    return [msg for rule in RULES if (msg := rule(settings))]


def validate(settings) -> None:
    """Raise ConfigError listing every rule the settings break."""
    from shopflow.config import ConfigError

    found = problems(settings)
    if found:
        raise ConfigError(f"SHOPFLOW_PROFILE={settings.profile}: " + "; ".join(found))
