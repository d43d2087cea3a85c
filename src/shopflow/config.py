"""Settings: one place that reads the environment.

Every backend is chosen by one setting, the embedded default first:

=====================  ==============================  =====================================
setting (env var)      local default                   cloud
=====================  ==============================  =====================================
SHOPFLOW_HOME          ./data                          (still used for local scratch)
SHOPFLOW_LANDING       $SHOPFLOW_HOME/landing          gs://bucket/landing
SHOPFLOW_LAKE          $SHOPFLOW_HOME/lake             gs://bucket/lake
SHOPFLOW_WAREHOUSE     duckdb                          bigquery
SHOPFLOW_DUCKDB_PATH   $SHOPFLOW_HOME/warehouse.duckdb
SHOPFLOW_BQ_PROJECT    (none)                          my-project
SHOPFLOW_BQ_DATASET    shopflow                        shopflow
SHOPFLOW_BQ_LOCATION   US                              EU, US, ...
SHOPFLOW_SPARK_MASTER  local[2]                        spark://host:7077 (or Dataproc)
SHOPFLOW_DEPLOYMENT    local                           gcp (DAGs switch to Google operators)
SHOPFLOW_GCP_REGION    (none)                          europe-west1 (Dataproc)
SHOPFLOW_CODE_URI      (none)                          gs://bucket/code (jobs/ and shopflow.zip)
SHOPFLOW_DATAPROC_CLUSTER (none: Serverless batches)   a cluster name (jobs submitted to it)
MLFLOW_TRACKING_URI    sqlite:///$HOME/mlflow.db       http://mlflow:5000
SHOPFLOW_PROFILE       local                           team, gcp: a set of the backends above
SHOPFLOW_WAREHOUSE_POOL_SLOTS 1 for DuckDB (one writer) 4 for BigQuery
SHOPFLOW_SPARK_DRIVER_HOST 127.0.0.1                   the host name Spark workers reach the driver at
SHOPFLOW_SPARK_BIND_ADDRESS 127.0.0.1                  0.0.0.0 in a container
SHOPFLOW_DEFERRABLE_SENSORS false                      true where a triggerer runs
SHOPFLOW_DUCKDB_MEMORY_LIMIT 6GB (DuckDB spills past it)
SHOPFLOW_PUBLISH_BATCH_USERS 50000 (users per rec_user_items batch: bounds publish's memory)
SHOPFLOW_PUBLISH_DUCKDB_MEMORY_LIMIT 2GB (DuckDB's working memory while publishing)
SHOPFLOW_TASK_MEMORY_MB 60% of RAM (a step past it stops with a message; see resources.py)
=====================  ==============================  =====================================

SHOPFLOW_PROFILE picks the defaults of the backend settings and every mix is validated
(shopflow.profiles): an impossible one is refused when the DAGs are parsed.

Secrets are never settings: BigQuery and GCS credentials come from the environment
(GOOGLE_APPLICATION_CREDENTIALS, workload identity) or from an Airflow connection.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,1023}$")
_PROJECT = re.compile(r"^[a-z][a-z0-9\-]{4,28}[a-z0-9]$")


class ConfigError(ValueError):
    """A setting has a value that cannot be used."""


def validate_identifier(value: str, what: str = "identifier") -> str:
    """Return ``value`` if it is a plain SQL identifier (letters, digits, underscore)."""
    if not isinstance(value, str) or not _IDENTIFIER.match(value):
        raise ConfigError(f"{what} {value!r} is not a plain identifier ([A-Za-z_][A-Za-z0-9_]*)")
    return value


def validate_project(value: str) -> str:
    """Return ``value`` if it is a valid Google Cloud project id."""
    if not isinstance(value, str) or not _PROJECT.match(value):
        raise ConfigError(f"BigQuery project {value!r} is not a valid Google Cloud project id")
    return value


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


@dataclass(frozen=True)
class Settings:
    home: Path
    landing: str
    lake: str
    warehouse: str = "duckdb"
    duckdb_path: Path = field(default=Path("data/warehouse.duckdb"))
    bq_project: str | None = None
    bq_dataset: str = "shopflow"
    bq_location: str = "US"
    spark_master: str = "local[2]"
    deployment: str = "local"
    mlflow_uri: str = "sqlite:///data/mlflow.db"
    mlflow_artifacts: str = "data/mlartifacts"
    gcp_region: str | None = None
    code_uri: str | None = None
    dataproc_cluster: str | None = None
    #: The DAGs' first date: Airflow runs no task for an earlier logical date.
    start_date: dt.date = dt.date(2019, 11, 1)
    #: Whether shopflow_daily catches up every date since its start (the local stack turns it off).
    catchup: bool = True
    #: Hours after the end of date D by which landing/D must have arrived; later, the run fails.
    landing_grace_hours: int = 12
    #: The profile the backend defaults came from (local, team, gcp); see shopflow.profiles.
    profile: str = "local"
    #: Slots of the shopflow_warehouse pool: 1 for DuckDB, which allows one writer.
    warehouse_pool_slots: int = 1
    #: Where Spark executors reach the driver (spark.driver.host) and where it listens.
    spark_driver_host: str | None = "127.0.0.1"
    spark_bind_address: str | None = "127.0.0.1"
    #: Landing sensors defer to the triggerer instead of holding or rescheduling a worker slot.
    deferrable_sensors: bool = False
    #: DuckDB's working memory; past it, DuckDB spills to disk (its own default is 80% of RAM).
    duckdb_memory_limit: str = "6GB"
    #: Users per batch when publishing rec_user_items: bounds publish's memory, whatever the month.
    publish_batch_users: int = 50_000
    #: DuckDB's working memory in publish, whose own memory (the models, a batch of lists) shares
    #: the process: at the real month's size DuckDB held several GB of it under the 6GB limit.
    publish_duckdb_memory_limit: str = "2GB"

    @property
    def reports(self) -> Path:
        return self.home / "reports"

    @property
    def airflow_home(self) -> Path:
        return self.home / "airflow"

    def lake_path(self, *parts: str) -> str:
        return join(self.lake, *parts)

    def landing_file(self, day) -> str:
        return join(self.landing, f"{day}.csv.gz")


def join(base: str, *parts: str) -> str:
    """Join path parts for local folders and gs:// URIs alike."""
    out = base.rstrip("/")
    for p in parts:
        out = f"{out}/{p.strip('/')}"
    return out


def is_remote(path: str) -> bool:
    return "://" in str(path)


def get_settings() -> Settings:
    """Read the settings from the environment (cheap; call it where needed)."""
    from shopflow import profiles

    home = Path(_env("SHOPFLOW_HOME", "data")).resolve()
    profile = _env("SHOPFLOW_PROFILE", "local").lower()
    base = profiles.profile_defaults(profile)
    warehouse = _env("SHOPFLOW_WAREHOUSE", base["warehouse"]).lower()
    if warehouse not in ("duckdb", "bigquery"):
        raise ConfigError(f"SHOPFLOW_WAREHOUSE must be 'duckdb' or 'bigquery', not {warehouse!r}")
    deployment = _env("SHOPFLOW_DEPLOYMENT", base["deployment"]).lower()
    if deployment not in ("local", "gcp"):
        raise ConfigError(f"SHOPFLOW_DEPLOYMENT must be 'local' or 'gcp', not {deployment!r}")
    project = _env("SHOPFLOW_BQ_PROJECT")
    if project is not None:
        validate_project(project)
    dataset = validate_identifier(_env("SHOPFLOW_BQ_DATASET", "shopflow"), "BigQuery dataset")
    settings = Settings(
        home=home,
        landing=_env("SHOPFLOW_LANDING", str(home / "landing")),
        lake=_env("SHOPFLOW_LAKE", str(home / "lake")),
        warehouse=warehouse,
        duckdb_path=Path(_env("SHOPFLOW_DUCKDB_PATH", str(home / "warehouse.duckdb"))),
        bq_project=project,
        bq_dataset=dataset,
        bq_location=_env("SHOPFLOW_BQ_LOCATION", "US"),
        spark_master=_env("SHOPFLOW_SPARK_MASTER", base["spark_master"]),
        deployment=deployment,
        mlflow_uri=_env("MLFLOW_TRACKING_URI", base["mlflow_uri"] or f"sqlite:///{home / 'mlflow.db'}"),
        mlflow_artifacts=_env("SHOPFLOW_MLFLOW_ARTIFACTS", str(home / "mlartifacts")),
        gcp_region=_env("SHOPFLOW_GCP_REGION"),
        code_uri=_env("SHOPFLOW_CODE_URI"),
        dataproc_cluster=_env("SHOPFLOW_DATAPROC_CLUSTER"),
        start_date=_day("SHOPFLOW_START_DATE", dt.date(2019, 11, 1)),
        catchup=_flag("SHOPFLOW_CATCHUP", True),
        landing_grace_hours=_hours("SHOPFLOW_LANDING_GRACE_HOURS", 12),
        profile=profile,
        warehouse_pool_slots=profiles.pool_slots(warehouse, profile, _env("SHOPFLOW_WAREHOUSE_POOL_SLOTS")),
        spark_driver_host=_env("SHOPFLOW_SPARK_DRIVER_HOST", base["spark_driver_host"]),
        spark_bind_address=_env("SHOPFLOW_SPARK_BIND_ADDRESS", base["spark_bind_address"]),
        deferrable_sensors=_flag("SHOPFLOW_DEFERRABLE_SENSORS", base["deferrable_sensors"]),
        duckdb_memory_limit=_memory("SHOPFLOW_DUCKDB_MEMORY_LIMIT", "6GB"),
        publish_batch_users=_positive("SHOPFLOW_PUBLISH_BATCH_USERS", 50_000),
        publish_duckdb_memory_limit=_memory("SHOPFLOW_PUBLISH_DUCKDB_MEMORY_LIMIT", "2GB"),
    )
    profiles.validate(settings)
    return settings


def _flag(name: str, default: bool) -> bool:
    value = _env(name)
    if value is None:
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, not {value!r}")


def _day(name: str, default: dt.date) -> dt.date:
    value = _env(name)
    if value is None:
        return default
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"{name} must be a date (YYYY-MM-DD), not {value!r}") from None


def _memory(name: str, default: str) -> str:
    value = (_env(name) or default).strip()
    if not re.fullmatch(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", value, re.IGNORECASE):
        raise ConfigError(f"{name} must be an amount of memory such as 6GB or 800MB, not {value!r}")
    return value


def _positive(name: str, default: int) -> int:
    value = _env(name)
    if value is None:
        return default
    if not value.isdigit() or int(value) < 1:
        raise ConfigError(f"{name} must be a whole number above 0, not {value!r}")
    return int(value)


def _hours(name: str, default: int) -> int:
    value = _env(name)
    if value is None:
        return default
    if not value.isdigit():
        raise ConfigError(f"{name} must be a whole number of hours, not {value!r}")
    return int(value)
