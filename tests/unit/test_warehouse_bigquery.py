"""The BigQuery backend, checked for the jobs it would send, through a fake client (no network)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sys
import types

import pandas as pd
import pytest
from google.api_core.exceptions import NotFound
from google.cloud import bigquery

from shopflow.config import ConfigError, get_settings
from shopflow.schema import EVENTS_SCHEMA, QUARANTINE_REASONS
from shopflow.warehouse.bigquery import BigQueryWarehouse
from shopflow.warehouse.manifest import LoadError

LAKE = "gs://shop-bucket/lake"


class FakeResult:
    def __init__(self, total_rows=0, frame=None):
        self.total_rows = total_rows
        self._frame = frame if frame is not None else pd.DataFrame()

    def to_dataframe(self):
        return self._frame


class FakeJob:
    def __init__(self, result=None, output_rows=None):
        self._result = result or FakeResult()
        self.output_rows = output_rows

    def result(self):
        return self._result


class FakeClient:
    """Records every call the backend makes, as (method, arguments)."""

    def __init__(self, existing=(), output_rows=0, total_rows=0, frame=None):
        self.calls = []
        self.existing = set(existing)
        self.output_rows, self.total_rows, self.frame = output_rows, total_rows, frame

    def load_table_from_uri(self, uri, destination, job_config=None, location=None):
        self.calls.append(("load_uri", dict(uri=uri, destination=destination, config=job_config, location=location)))
        return FakeJob(output_rows=self.output_rows)

    def load_table_from_dataframe(self, frame, destination, job_config=None):
        self.calls.append(("load_frame", dict(frame=frame.copy(), destination=destination, config=job_config)))
        return FakeJob()

    def query(self, sql, job_config=None, location=None):
        self.calls.append(("query", dict(sql=sql, config=job_config, location=location)))
        return FakeJob(FakeResult(self.total_rows, self.frame))

    def get_table(self, table_id):
        self.calls.append(("get_table", dict(table=table_id)))
        if table_id not in self.existing:
            raise NotFound(f"Table {table_id} not found")
        return types.SimpleNamespace(num_rows=7)

    def list_rows(self, table_id):
        self.calls.append(("list_rows", dict(table=table_id)))
        return FakeResult(frame=self.frame)

    def delete_table(self, table_id, not_found_ok=False):
        self.calls.append(("delete_table", dict(table=table_id, not_found_ok=not_found_ok)))

    def of(self, method):
        return [args for name, args in self.calls if name == method]


def manifest_text(day="2019-11-01", **change):
    body = {
        "event_date": day, "source": f"gs://shop-bucket/landing/{day}.csv.gz", "source_sha256": "ab" * 32,
        "job_version": "1", "rows_in": 110, "rows_valid": 100, "duplicates_dropped": 4, "rows_quarantined": 6,
        "quarantined_by_reason": {**{r: 0 for r in QUARANTINE_REASONS}, "unparseable_time": 2, "negative_price": 4},
        "checksum": "c", "started_at": "2019-11-02T01:00:00Z", "finished_at": "2019-11-02T01:02:00Z",
    }
    body.update(change)
    return json.dumps(body)


@pytest.fixture
def settings():
    return dataclasses.replace(
        get_settings(), warehouse="bigquery", bq_project="my-project", bq_dataset="shopflow", bq_location="EU"
    )


def make(settings, client, manifests=None):
    files = {f"{LAKE}/manifests/{d}.json": text for d, text in (manifests or {}).items()}

    def read_text(path):
        if path not in files:
            raise FileNotFoundError(path)
        return files[path]

    return BigQueryWarehouse(settings, client=client, read_text=read_text)


def params_of(config):
    return [(p.name, p.type_, p.value) for p in config.query_parameters]



def test_record_manifest_after_an_operator_loaded_the_partition(settings):
    """On Google Cloud the DAG loads events$D with GCSToBigQueryOperator; this records D's
    manifest with the rows actually found in the partition."""
    client = FakeClient(frame=pd.DataFrame({"n_rows": [98]}))
    wh = make(settings, client, {"2019-11-01": manifest_text()})
    assert wh.record_manifest(dt.date(2019, 11, 1), LAKE) == 98

    assert client.of("load_uri") == []
    (count,) = client.of("query")
    assert count["sql"] == "select count(*) as n_rows from events where event_date = @event_date"
    assert params_of(count["config"]) == [("event_date", "DATE", dt.date(2019, 11, 1))]
    manifests, quarantine = client.of("load_frame")
    assert manifests["destination"] == "my-project.shopflow.manifests$20191101"
    assert int(manifests["frame"].iloc[0]["rows_loaded"]) == 98
    assert quarantine["destination"] == "my-project.shopflow.manifest_quarantine$20191101"

def test_load_writes_the_date_partition_from_gcs_with_write_truncate(settings):
    client = FakeClient(output_rows=100)
    wh = make(settings, client, {"2019-11-01": manifest_text()})
    assert wh.load_events_partition(dt.date(2019, 11, 1), LAKE) == 100

    (load,) = client.of("load_uri")
    assert load["uri"] == "gs://shop-bucket/lake/events/event_date=2019-11-01/*.parquet"
    assert load["destination"] == "my-project.shopflow.events$20191101"
    assert load["location"] == "EU"
    config = load["config"]
    assert config.write_disposition == "WRITE_TRUNCATE"
    assert config.source_format == "PARQUET"
    assert (config.time_partitioning.field, config.time_partitioning.type_) == ("event_date", "DAY")
    assert [(f.name, f.field_type) for f in config.schema] == list(EVENTS_SCHEMA)
    assert config.clustering_fields == ["event_type"]

    manifests, quarantine = client.of("load_frame")
    assert manifests["destination"] == "my-project.shopflow.manifests$20191101"
    assert manifests["config"].write_disposition == "WRITE_TRUNCATE"
    assert manifests["config"].time_partitioning.field == "event_date"
    row = manifests["frame"].iloc[0]
    counts = ("rows_in", "rows_valid", "duplicates_dropped", "rows_quarantined", "rows_loaded")
    assert tuple(row[c] for c in counts) == (110, 100, 4, 6, 100)
    assert row["started_at"] == pd.Timestamp("2019-11-02T01:00:00Z")
    assert quarantine["destination"] == "my-project.shopflow.manifest_quarantine$20191101"
    by_reason = dict(zip(quarantine["frame"]["reason"], quarantine["frame"]["n_rows"]))
    assert list(by_reason) == list(QUARANTINE_REASONS)
    assert (by_reason["unparseable_time"], by_reason["negative_price"], sum(by_reason.values())) == (2, 4, 6)


def test_load_without_a_manifest_or_from_a_local_lake_fails_clearly(settings):
    client = FakeClient()
    wh = make(settings, client)
    with pytest.raises(LoadError, match="no manifest for 2019-11-01 at gs://shop-bucket/lake/manifests/2019-11-01.json"):
        wh.load_events_partition(dt.date(2019, 11, 1), LAKE)
    with pytest.raises(LoadError, match="set it to gs://bucket/lake"):
        wh.load_events_partition(dt.date(2019, 11, 1), "/data/lake")
    assert client.of("load_uri") == []


def test_an_empty_day_truncates_the_partition_instead_of_loading(settings):
    client = FakeClient(existing={"my-project.shopflow.events"})
    wh = make(settings, client, {"2019-11-01": manifest_text(rows_in=0, rows_valid=0, duplicates_dropped=0, rows_quarantined=0,
                                                              quarantined_by_reason={r: 0 for r in QUARANTINE_REASONS})})
    assert wh.load_events_partition(dt.date(2019, 11, 1), LAKE) == 0
    assert client.of("load_uri") == []
    (query,) = client.of("query")
    assert query["sql"] == "select * from `my-project.shopflow.events` where false"
    assert query["config"].destination.table_id == "events$20191101"
    assert query["config"].write_disposition == "WRITE_TRUNCATE"


def test_query_sends_typed_parameters_and_the_default_dataset(settings):
    frame = pd.DataFrame({"user_id": [1]})
    client = FakeClient(frame=frame)
    wh = make(settings, client)
    sql = (
        "select user_id from events where event_date between @start_date and @end_date "
        "and price > @p and event_type in unnest(@kinds)"
    )
    got = wh.query(sql, {"start_date": dt.date(2019, 11, 1), "end_date": dt.date(2019, 11, 30), "p": 1.5, "kinds": ["view", "cart"]})
    assert got is frame
    (query,) = client.of("query")
    assert query["sql"] == sql
    config = query["config"]
    assert params_of(bigquery.QueryJobConfig(query_parameters=config.query_parameters[:3])) == [
        ("start_date", "DATE", dt.date(2019, 11, 1)),
        ("end_date", "DATE", dt.date(2019, 11, 30)),
        ("p", "FLOAT64", 1.5),
    ]
    kinds = config.query_parameters[3]
    assert (kinds.name, kinds.array_type, kinds.values) == ("kinds", "STRING", ["view", "cart"])
    assert str(config.default_dataset) == "my-project.shopflow"


def test_write_table_by_date_truncates_one_partition(settings):
    client = FakeClient()
    wh = make(settings, client)
    frame = pd.DataFrame({"run_date": [dt.date(2019, 11, 30)] * 2, "user_id": [1, 2], "item_id": [5, 6]})
    assert wh.write_table("rec_user_items", frame, replace_where={"run_date": dt.date(2019, 11, 30)}) == 2
    (load,) = client.of("load_frame")
    assert load["destination"] == "my-project.shopflow.rec_user_items$20191130"
    assert load["config"].write_disposition == "WRITE_TRUNCATE"
    assert load["config"].time_partitioning.field == "run_date"


def test_write_table_without_replace_where_truncates_the_table(settings):
    client = FakeClient()
    make(settings, client).write_table("rec_category_bestsellers", pd.DataFrame({"x": [1]}))
    (load,) = client.of("load_frame")
    assert load["destination"] == "my-project.shopflow.rec_category_bestsellers"
    assert load["config"].write_disposition == "WRITE_TRUNCATE"


def test_write_table_by_other_keys_uses_one_transaction(settings):
    client = FakeClient()
    wh = make(settings, client)
    frame = pd.DataFrame({"model": ["als", "als"], "user_id": [1, 2]})
    wh.write_table("rec_user_items", frame, replace_where={"model": "als"})
    (scratch_load,) = client.of("load_frame")
    scratch = scratch_load["destination"]
    assert scratch.startswith("my-project.shopflow.rec_user_items__load_")
    (query,) = client.of("query")
    assert query["sql"] == (
        f"create table if not exists `my-project.shopflow.rec_user_items` like `{scratch}`;\n"
        "begin transaction;\n"
        "delete from `my-project.shopflow.rec_user_items` where model = @w0;\n"
        f"insert into `my-project.shopflow.rec_user_items` (model, user_id) select model, user_id from `{scratch}`;\n"
        "commit transaction;"
    )
    assert params_of(query["config"]) == [("w0", "STRING", "als")]
    assert client.of("delete_table") == [{"table": scratch, "not_found_ok": True}]


def test_read_table_and_table_exists(settings):
    frame = pd.DataFrame({"a": [1]})
    client = FakeClient(existing={"my-project.shopflow.events"}, frame=frame)
    wh = make(settings, client)
    assert wh.read_table("mart_rfm") is frame
    assert client.of("list_rows") == [{"table": "my-project.shopflow.mart_rfm"}]
    assert wh.table_exists("events") is True
    assert wh.table_exists("mart_rfm") is False
    with pytest.raises(ConfigError):
        wh.table_exists("events`; drop table x; --")


def test_no_client_is_made_until_first_use_and_a_project_is_required(settings, monkeypatch):
    made = []
    monkeypatch.setattr(bigquery, "Client", lambda **kw: made.append(kw) or FakeClient(existing={"my-project.shopflow.events"}))
    monkeypatch.delenv("AIRFLOW_CTX_DAG_ID", raising=False)
    wh = BigQueryWarehouse(settings)
    assert made == []
    assert wh.table_exists("events")
    assert made == [{"project": "my-project", "location": "EU"}]
    with pytest.raises(ConfigError, match="needs SHOPFLOW_BQ_PROJECT"):
        BigQueryWarehouse(dataclasses.replace(settings, bq_project=None))


def test_inside_airflow_the_client_comes_from_the_google_connection(settings, monkeypatch):
    hooks = []

    class FakeHook:
        def __init__(self, **kwargs):
            hooks.append(kwargs)

        def get_client(self, project_id, location):
            hooks.append({"project_id": project_id, "location": location})
            return FakeClient()

    # A stand-in for the provider module: the real one takes seconds to import.
    fake = types.ModuleType("airflow.providers.google.cloud.hooks.bigquery")
    fake.BigQueryHook = FakeHook
    monkeypatch.setitem(sys.modules, "airflow.providers.google.cloud.hooks.bigquery", fake)
    monkeypatch.setenv("AIRFLOW_CTX_DAG_ID", "shopflow_daily")
    wh = BigQueryWarehouse(settings)
    assert isinstance(wh.client, FakeClient)
    assert hooks == [
        {"gcp_conn_id": "google_cloud_default", "location": "EU", "use_legacy_sql": False},
        {"project_id": "my-project", "location": "EU"},
    ]
