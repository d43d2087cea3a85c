"""The cloud warehouse: a BigQuery dataset (SHOPFLOW_BQ_PROJECT / SHOPFLOW_BQ_DATASET).

Credentials are never settings. Inside an Airflow task the client comes from the Google
provider's BigQueryHook and the ``google_cloud_default`` connection; elsewhere from Application
Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud, workload identity). The client is
created on first use, so constructing this class touches neither network nor credentials.

How each write is made atomic:

* ``events`` partition: a load job from ``gs://.../lake/events/event_date=D/*.parquet`` into
  ``events$YYYYMMDD`` with WRITE_TRUNCATE; the table is partitioned by ``event_date`` (DAY) and
  clustered by ``event_type``. BigQuery itself rejects rows whose event_date is not D.
* ``write_table(..., replace_where={date_column: d})``: the job writes ``name$YYYYMMDD`` with
  WRITE_TRUNCATE into a table partitioned by that column.
* ``write_table`` without ``replace_where``: load_table_from_dataframe with WRITE_TRUNCATE; with
  any other ``replace_where``: the frame is loaded to a scratch table, then one multi-statement
  transaction deletes the slice and inserts the frame, and the scratch table is dropped.

``manifests`` and ``manifest_quarantine`` are written after the events partition, each by its own
partition-truncating job: a failure between them is repaired by rerunning the load.
"""

from __future__ import annotations

import datetime as dt
import decimal
import logging
import os
import uuid
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd

from shopflow.config import ConfigError, Settings, is_remote, validate_identifier, validate_project
from shopflow.schema import EVENTS_SCHEMA
from shopflow.warehouse.base import Warehouse
from shopflow.dates import as_date
from shopflow.clean import partition_path
from shopflow.warehouse.manifest import LoadError, check_slice, manifest_frames, read_manifest

log = logging.getLogger(__name__)

GCP_CONN_ID = "google_cloud_default"


def _in_airflow_task() -> bool:
    # The task runner exports the task's context as AIRFLOW_CTX_* variables while it executes.
    return bool(os.environ.get("AIRFLOW_CTX_DAG_ID"))


def query_parameter(name: str, value: Any):
    """A BigQuery query parameter for a Python value (the type follows the value)."""
    from google.cloud import bigquery

    if isinstance(value, (list, tuple)):
        if not value:
            raise ValueError(f"parameter @{name}: an empty list has no element type")
        kind = _scalar_type(name, value[0])
        return bigquery.ArrayQueryParameter(name, kind, [_scalar_value(v) for v in value])
    return bigquery.ScalarQueryParameter(name, _scalar_type(name, value), _scalar_value(value))


def _scalar_type(name: str, value: Any) -> str:
    value = _scalar_value(value)
    if isinstance(value, bool):
        return "BOOL"
    if isinstance(value, int):
        return "INT64"
    if isinstance(value, float):
        return "FLOAT64"
    if isinstance(value, decimal.Decimal):
        return "NUMERIC"
    if isinstance(value, str):
        return "STRING"
    if isinstance(value, dt.datetime):
        return "TIMESTAMP"
    if isinstance(value, dt.date):
        return "DATE"
    raise ValueError(f"parameter @{name}: no BigQuery type for {type(value).__name__}")


def _scalar_value(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _day_partitions(bigquery, column: str):
    return bigquery.TimePartitioning(type_=bigquery.TimePartitioningType.DAY, field=column)


class BigQueryWarehouse(Warehouse):
    backend = "bigquery"

    def __init__(
        self,
        settings: Settings,
        client=None,
        gcp_conn_id: str = GCP_CONN_ID,
        read_text: Callable[[str], str] | None = None,
    ):
        if not settings.bq_project:
            raise ConfigError("SHOPFLOW_WAREHOUSE=bigquery needs SHOPFLOW_BQ_PROJECT (a Google Cloud project id)")
        self.project = validate_project(settings.bq_project)
        self.dataset = validate_identifier(settings.bq_dataset, "BigQuery dataset")
        self.location = settings.bq_location
        self.settings = settings
        self.gcp_conn_id = gcp_conn_id
        self._client = client
        self._read_text = read_text

    # ---------------------------------------------------------------- plumbing

    @property
    def client(self):
        if self._client is None:
            self._client = self._make_client()
        return self._client

    def _make_client(self):
        if _in_airflow_task():
            from airflow.providers.google.cloud.hooks.bigquery import BigQueryHook

            hook = BigQueryHook(gcp_conn_id=self.gcp_conn_id, location=self.location, use_legacy_sql=False)
            return hook.get_client(project_id=self.project, location=self.location)
        from google.cloud import bigquery

        return bigquery.Client(project=self.project, location=self.location)

    def _gcs_reader(self) -> Callable[[str], str] | None:
        """Inside Airflow, manifests are read with the same connection as BigQuery."""
        if not _in_airflow_task():
            return None  # read_manifest's default: google-cloud-storage with ADC

        def read(path: str) -> str:
            from airflow.providers.google.cloud.hooks.gcs import GCSHook
            from google.api_core.exceptions import NotFound

            bucket, _, blob = path[len("gs://") :].partition("/")
            try:
                return GCSHook(gcp_conn_id=self.gcp_conn_id).download(bucket, blob).decode("utf-8")
            except NotFound:
                raise FileNotFoundError(path) from None

        return read

    def table_id(self, name: str, partition: dt.date | None = None) -> str:
        validate_identifier(name, "table name")
        suffix = f"${partition:%Y%m%d}" if partition is not None else ""
        return f"{self.project}.{self.dataset}.{name}{suffix}"

    def _query_config(self, params: Mapping[str, Any] | None = None, **kwargs):
        from google.cloud import bigquery

        return bigquery.QueryJobConfig(
            query_parameters=[query_parameter(k, v) for k, v in (params or {}).items()],
            default_dataset=f"{self.project}.{self.dataset}",
            use_legacy_sql=False,
            **kwargs,
        )

    def _run_query(self, sql: str, config):
        return self.client.query(sql, job_config=config, location=self.location).result()

    # ---------------------------------------------------------------- interface

    def load_events_partition(self, event_date, lake: str) -> int:
        from google.cloud import bigquery

        day = as_date(event_date)
        if not str(lake).startswith("gs://"):
            raise LoadError(
                f"the BigQuery warehouse loads the lake from Cloud Storage; SHOPFLOW_LAKE is {lake}"
                + ("" if is_remote(lake) else " (a local folder): set it to gs://bucket/lake")
            )
        manifest = read_manifest(lake, day, self._read_text or self._gcs_reader())
        destination = self.table_id("events", day)
        if manifest["rows_valid"] == 0:
            # No Parquet files to load: empty the partition if the table exists.
            if self.table_exists("events"):
                config = self._query_config(
                    destination=destination,
                    write_disposition=bigquery.WriteDisposition.WRITE_TRUNCATE,
                    time_partitioning=_day_partitions(bigquery, "event_date"),
                )
                self._run_query(f"select * from `{self.table_id('events')}` where false", config)
            rows = 0
        else:
            config = bigquery.LoadJobConfig(
                source_format=bigquery.SourceFormat.PARQUET,
                write_disposition=bigquery.WriteDisposition.WRITE_TRUNCATE,
                create_disposition=bigquery.CreateDisposition.CREATE_IF_NEEDED,
                schema=[bigquery.SchemaField(name, kind) for name, kind in EVENTS_SCHEMA],
                time_partitioning=_day_partitions(bigquery, "event_date"),
                clustering_fields=["event_type"],
            )
            uri = f"{partition_path(lake, day)}/*.parquet"
            job = self.client.load_table_from_uri(uri, destination, job_config=config, location=self.location)
            job.result()
            rows = int(job.output_rows or 0)
        self._write_manifest(manifest, day, rows)
        return rows

    def record_manifest(self, event_date, lake: str) -> int:
        """Record D's manifest for an ``events`` partition loaded by another tool (the DAG's
        GCS-to-BigQuery operator on Google Cloud); return the rows found in the partition."""
        day = as_date(event_date)
        manifest = read_manifest(lake, day, self._read_text or self._gcs_reader())
        frame = self.query("select count(*) as n_rows from events where event_date = @event_date", {"event_date": day})
        rows = int(frame["n_rows"].iloc[0])
        self._write_manifest(manifest, day, rows)
        return rows

    def _write_manifest(self, manifest: Mapping[str, Any], day: dt.date, rows: int) -> None:
        manifests, quarantine = manifest_frames(manifest, rows)
        self.write_table("manifests", manifests, replace_where={"event_date": day})
        self.write_table("manifest_quarantine", quarantine, replace_where={"event_date": day})
        if rows != manifest["rows_valid"]:
            log.warning("%s: loaded %d rows, the manifest counts %d valid rows", day, rows, manifest["rows_valid"])

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        return self._run_query(sql, self._query_config(params)).to_dataframe()

    def read_table(self, name: str) -> pd.DataFrame:
        return self.client.list_rows(self.table_id(name)).to_dataframe()

    def write_table(self, name: str, frame: pd.DataFrame, replace_where: Mapping[str, Any] | None = None) -> int:
        from google.cloud import bigquery

        validate_identifier(name, "table name")
        if not replace_where:
            config = bigquery.LoadJobConfig(write_disposition=bigquery.WriteDisposition.WRITE_TRUNCATE)
            self.client.load_table_from_dataframe(frame, self.table_id(name), job_config=config).result()
            return len(frame)
        check_slice(frame, replace_where, name)
        column, value = next(iter(replace_where.items()))
        if len(replace_where) == 1 and isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            config = bigquery.LoadJobConfig(
                write_disposition=bigquery.WriteDisposition.WRITE_TRUNCATE,
                time_partitioning=_day_partitions(bigquery, column),
            )
            self.client.load_table_from_dataframe(frame, self.table_id(name, value), job_config=config).result()
            return len(frame)
        return self._replace_slice(name, frame, replace_where)

    def _replace_slice(self, name: str, frame: pd.DataFrame, replace_where: Mapping[str, Any]) -> int:
        from google.cloud import bigquery

        scratch = f"{name}__load_{uuid.uuid4().hex[:12]}"
        config = bigquery.LoadJobConfig(write_disposition=bigquery.WriteDisposition.WRITE_TRUNCATE)
        self.client.load_table_from_dataframe(frame, self.table_id(scratch), job_config=config).result()
        try:
            self._swap_slice(name, scratch, list(frame.columns), replace_where)
        finally:
            self.client.delete_table(self.table_id(scratch), not_found_ok=True)
        return len(frame)

    def _swap_slice(self, name: str, scratch: str, columns: list, replace_where: Mapping[str, Any]) -> None:
        """Replace the rows of ``name`` matching ``replace_where`` by the scratch table, in one transaction."""
        listed = ", ".join(validate_identifier(str(c), "column name") for c in columns)
        where = " and ".join(
            f"{validate_identifier(c, 'column name')} = @w{i}" for i, c in enumerate(replace_where)
        )
        params = {f"w{i}": v for i, v in enumerate(replace_where.values())}
        script = (
            f"create table if not exists `{self.table_id(name)}` like `{self.table_id(scratch)}`;\n"
            "begin transaction;\n"
            f"delete from `{self.table_id(name)}` where {where};\n"
            f"insert into `{self.table_id(name)}` ({listed}) select {listed} from `{self.table_id(scratch)}`;\n"
            "commit transaction;"
        )
        self._run_query(script, self._query_config(params))

    def query_batches(self, sql: str, params: Mapping[str, Any] | None = None, batch_rows: int = 100_000):
        rows = self.client.query(sql, job_config=self._query_config(params), location=self.location).result(
            page_size=batch_rows)
        yield from rows.to_dataframe_iterable()

    def write_batches(self, name: str, frames, replace_where: Mapping[str, Any] | None = None) -> int:
        """Each batch is appended to a scratch table by a load job (BigQuery's bulk load: no
        batch is held after it is sent); then one query job or transaction swaps the scratch
        table into place, so readers never see a half-written slice."""
        from google.cloud import bigquery

        validate_identifier(name, "table name")
        scratch = f"{name}__load_{uuid.uuid4().hex[:12]}"
        written, columns = 0, None
        try:
            for frame in frames:
                if replace_where:
                    check_slice(frame, replace_where, name)
                disposition = (bigquery.WriteDisposition.WRITE_TRUNCATE if columns is None
                               else bigquery.WriteDisposition.WRITE_APPEND)
                config = bigquery.LoadJobConfig(write_disposition=disposition)
                self.client.load_table_from_dataframe(frame, self.table_id(scratch), job_config=config).result()
                columns = list(frame.columns) if columns is None else columns
                written += len(frame)
            if columns is None:
                if replace_where and self.table_exists(name):
                    where = " and ".join(f"{validate_identifier(c, 'column name')} = @w{i}"
                                         for i, c in enumerate(replace_where))
                    self._run_query(f"delete from `{self.table_id(name)}` where {where}",
                                    self._query_config({f"w{i}": v for i, v in enumerate(replace_where.values())}))
                return 0
            select = f"select * from `{self.table_id(scratch)}`"
            column, value = next(iter((replace_where or {None: None}).items()))
            if not replace_where:
                self._run_query(select, self._query_config(
                    destination=self.table_id(name),
                    write_disposition=bigquery.WriteDisposition.WRITE_TRUNCATE))
            elif len(replace_where) == 1 and isinstance(value, dt.date) and not isinstance(value, dt.datetime):
                self._run_query(select, self._query_config(
                    destination=self.table_id(name, value),
                    write_disposition=bigquery.WriteDisposition.WRITE_TRUNCATE,
                    time_partitioning=_day_partitions(bigquery, column)))
            else:
                self._swap_slice(name, scratch, columns, replace_where)
        finally:
            self.client.delete_table(self.table_id(scratch), not_found_ok=True)
        return written

    def table_exists(self, name: str) -> bool:
        from google.api_core.exceptions import NotFound

        try:
            self.client.get_table(self.table_id(name))
        except NotFound:
            return False
        return True

    def close(self) -> None:
        if self._client is not None and hasattr(self._client, "close"):
            self._client.close()
