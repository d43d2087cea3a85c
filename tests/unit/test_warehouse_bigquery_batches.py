"""BigQuery's batched write: load jobs into one scratch table, then one job swaps it into place."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from test_warehouse_bigquery import FakeClient, make, params_of, settings  # noqa: F401 (fixture)

DAY = dt.date(2019, 11, 30)


def _frames():
    yield pd.DataFrame({"user_id": [1, 2], "run_date": [DAY, DAY]})
    yield pd.DataFrame({"user_id": [3], "run_date": [DAY]})


def test_batches_are_appended_to_a_scratch_table_then_replace_one_partition(settings):  # noqa: F811
    client = FakeClient()
    assert make(settings, client).write_batches("rec_user_items", _frames(), replace_where={"run_date": DAY}) == 3
    first, second = client.of("load_frame")
    scratch = first["destination"]
    assert scratch.startswith("my-project.shopflow.rec_user_items__load_")
    assert second["destination"] == scratch
    assert [first["config"].write_disposition, second["config"].write_disposition] == ["WRITE_TRUNCATE", "WRITE_APPEND"]
    assert [len(first["frame"]), len(second["frame"])] == [2, 1]
    (query,) = client.of("query")
    assert query["sql"] == f"select * from `{scratch}`"
    assert query["config"].destination.path.endswith("/tables/rec_user_items$20191130")
    assert query["config"].write_disposition == "WRITE_TRUNCATE"
    assert query["config"].time_partitioning.field == "run_date"
    assert client.of("delete_table") == [{"table": scratch, "not_found_ok": True}]


def test_batches_by_other_keys_swap_in_one_transaction(settings):  # noqa: F811
    client = FakeClient()
    frames = (pd.DataFrame({"model": ["als"], "user_id": [u]}) for u in (1, 2))
    make(settings, client).write_batches("rec_user_items", frames, replace_where={"model": "als"})
    assert len(client.of("load_frame")) == 2
    (query,) = client.of("query")
    assert "begin transaction;" in query["sql"]
    assert "delete from `my-project.shopflow.rec_user_items` where model = @w0;" in query["sql"]
    assert params_of(query["config"]) == [("w0", "STRING", "als")]


def test_no_batch_empties_the_slice_of_an_existing_table(settings):  # noqa: F811
    client = FakeClient(existing={"my-project.shopflow.rec_user_items"})
    assert make(settings, client).write_batches("rec_user_items", iter(()), replace_where={"run_date": DAY}) == 0
    assert client.of("load_frame") == []
    (query,) = client.of("query")
    assert query["sql"] == "delete from `my-project.shopflow.rec_user_items` where run_date = @w0"
    assert params_of(query["config"]) == [("w0", "DATE", DAY)]
