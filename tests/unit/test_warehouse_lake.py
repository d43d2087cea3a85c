"""Lake fixtures for the warehouse tests, and the tests of loading them into DuckDB.

``write_partition`` writes ``LAKE/events/event_date=D/part-0.parquet`` with exactly the lake
contract's columns and types (``shopflow.schema.EVENTS_SCHEMA``) plus ``LAKE/manifests/D.json``,
from inline rows built with ``ev``. The other warehouse, marts and checks tests import them.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shopflow.schema import EVENTS_COLUMNS, QUARANTINE_REASONS

ARROW_TYPES = {
    "TIMESTAMP": pa.timestamp("us", tz="UTC"),
    "DATE": pa.date32(),
    "INT64": pa.int64(),
    "STRING": pa.string(),
    "FLOAT64": pa.float64(),
}


def ev(when: str, event_type: str, product_id: int, user_id: int, session: str, *, price: float = 10.0,
       code: str | None = "electronics.smartphone", brand: str | None = "apple", category_id: int = 2053013555631882655):
    """One lake row. ``when`` is 'YYYY-MM-DD HH:MM:SS' UTC; derived columns follow the contract."""
    t = dt.datetime.fromisoformat(when).replace(tzinfo=dt.timezone.utc)
    parts = code.split(".") if code else []
    return {
        "event_time": t,
        "event_date": t.date(),
        "event_hour": t.hour,
        "event_weekday": t.isoweekday(),
        "event_type": event_type,
        "product_id": product_id,
        "category_id": category_id,
        "category_code": code,
        "category": parts[0] if parts else None,
        "sub_category": parts[1] if len(parts) > 1 else None,
        "product": parts[-1] if len(parts) > 1 else None,
        "brand": brand,
        "price": price,
        "user_id": user_id,
        "user_session": session,
    }


# A three-day store used by the mart tests; their expected values are worked out by hand from it.
#
#  #   time (UTC)           type              product  category_code                 brand    price    user session
#  e1  2019-11-01 08:00:00  view              100      electronics.smartphone        apple    1000.00  1  s1
#  e2  2019-11-01 08:05:00  cart              100      electronics.smartphone        apple    1000.00  1  s1
#  e3  2019-11-01 08:10:00  purchase          100      electronics.smartphone        apple    1000.00  1  s1
#  e4  2019-11-01 09:00:00  view              200      appliances.kitchen.washer     (none)    300.50  2  s2
#  e5  2019-11-01 09:30:00  view              300      (none)                        samsung    50.25  2  s2
#  e6  2019-11-01 09:45:00  cart              300      (none)                        samsung    50.25  2  s2
#  e7  2019-11-01 23:59:59  view              100      electronics.smartphone        apple    1000.00  3  s3
#  e8  2019-11-02 00:00:10  purchase          100      electronics.smartphone        apple    1000.00  3  s3  (s3 crosses midnight)
#  e9  2019-11-02 10:00:00  view              400      electronics.audio.headphone   sony       99.99  4  s4
#  e10 2019-11-02 10:01:00  cart              400      electronics.audio.headphone   sony       99.99  4  s4
#  e11 2019-11-02 10:02:00  remove_from_cart  400      electronics.audio.headphone   sony       99.99  4  s4
#  e12 2019-11-02 10:05:00  purchase          300      (none)                        samsung    50.25  2  s5
#  e13 2019-11-02 10:06:00  purchase          200      appliances.kitchen.washer     (none)    300.50  2  s5
#  e14 2019-11-03 12:00:00  view              100      electronics.smartphone        apple    1000.00  1  s6
#  e15 2019-11-03 12:00:00  view              400      electronics.audio.headphone   sony       99.99  4  s7
#  e16 2019-11-03 13:00:00  cart              400      electronics.audio.headphone   sony       99.99  4  s7
#
# 2019-11-01 is a Friday (ISO 5), the 2nd a Saturday, the 3rd a Sunday without purchases.
# Reference-filter rows (category_code and brand both known): all but e4, e5, e6, e12, e13.
_APPLE = dict(code="electronics.smartphone", brand="apple", price=1000.0)
_WASHER = dict(code="appliances.kitchen.washer", brand=None, price=300.5)
_SAMSUNG = dict(code=None, brand="samsung", price=50.25)
_SONY = dict(code="electronics.audio.headphone", brand="sony", price=99.99)
STORE_DAYS = {
    "2019-11-01": [
        ev("2019-11-01 08:00:00", "view", 100, 1, "s1", **_APPLE),
        ev("2019-11-01 08:05:00", "cart", 100, 1, "s1", **_APPLE),
        ev("2019-11-01 08:10:00", "purchase", 100, 1, "s1", **_APPLE),
        ev("2019-11-01 09:00:00", "view", 200, 2, "s2", **_WASHER),
        ev("2019-11-01 09:30:00", "view", 300, 2, "s2", **_SAMSUNG),
        ev("2019-11-01 09:45:00", "cart", 300, 2, "s2", **_SAMSUNG),
        ev("2019-11-01 23:59:59", "view", 100, 3, "s3", **_APPLE),
    ],
    "2019-11-02": [
        ev("2019-11-02 00:00:10", "purchase", 100, 3, "s3", **_APPLE),
        ev("2019-11-02 10:00:00", "view", 400, 4, "s4", **_SONY),
        ev("2019-11-02 10:01:00", "cart", 400, 4, "s4", **_SONY),
        ev("2019-11-02 10:02:00", "remove_from_cart", 400, 4, "s4", **_SONY),
        ev("2019-11-02 10:05:00", "purchase", 300, 2, "s5", **_SAMSUNG),
        ev("2019-11-02 10:06:00", "purchase", 200, 2, "s5", **_WASHER),
    ],
    "2019-11-03": [
        ev("2019-11-03 12:00:00", "view", 100, 1, "s6", **_APPLE),
        ev("2019-11-03 12:00:00", "view", 400, 4, "s7", **_SONY),
        ev("2019-11-03 13:00:00", "cart", 400, 4, "s7", **_SONY),
    ],
}


def rows_of(frame, columns=None):
    """A frame's rows as tuples (dates as 'YYYY-MM-DD', nulls as None), in the frame's order."""
    import pandas as pd

    out = frame[list(columns or frame.columns)].copy()
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].dt.strftime("%Y-%m-%d")
    out = out.astype(object).where(out.notna(), None)
    return [tuple(r) for r in out.itertuples(index=False)]


def events_arrow_schema() -> pa.Schema:
    from shopflow.schema import EVENTS_SCHEMA

    return pa.schema([(name, ARROW_TYPES[kind]) for name, kind in EVENTS_SCHEMA])


def write_partition(lake: Path, day: str, rows: list[dict], *, manifest: dict | None = None,
                    write_manifest: bool = True, files: int = 1) -> Path:
    """Write one date's Parquet files (split into ``files`` files) and its manifest."""
    folder = Path(lake) / "events" / f"event_date={day}"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.parquet"):
        old.unlink()
    schema = events_arrow_schema()
    chunks = [rows[i::files] for i in range(files)] if rows else []
    for i, chunk in enumerate(chunks):
        table = pa.Table.from_pylist(chunk, schema=schema)
        pq.write_table(table, folder / f"part-{i}.parquet")
    if write_manifest:
        body = {
            "event_date": day,
            "source": f"landing/{day}.csv.gz",
            "source_sha256": "0" * 64,
            "job_version": "test",
            "rows_in": len(rows),
            "rows_valid": len(rows),
            "duplicates_dropped": 0,
            "rows_quarantined": 0,
            "quarantined_by_reason": {r: 0 for r in QUARANTINE_REASONS},
            "checksum": "test",
            "started_at": f"{day}T01:00:00+00:00",
            "finished_at": f"{day}T01:00:05+00:00",
        }
        body.update(manifest or {})
        (Path(lake) / "manifests").mkdir(parents=True, exist_ok=True)
        (Path(lake) / "manifests" / f"{day}.json").write_text(json.dumps(body))
    return folder


def load_days(wh, lake: Path, days: dict[str, list[dict]], order=None) -> None:
    """Write every day's partition and load them in ``order`` (default: as given)."""
    for day, rows in days.items():
        write_partition(lake, day, rows)
    for day in order or list(days):
        wh.load_events_partition(dt.date.fromisoformat(day), str(lake))


def snapshot(wh, table: str):
    """A table's rows in a canonical order, to compare two states of the warehouse."""
    frame = wh.read_table(table)
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


# ------------------------------------------------------------------------------------ tests


def test_fixture_parquet_matches_the_lake_contract(tmp_path):
    folder = write_partition(tmp_path, "2019-11-01", [ev("2019-11-01 08:00:00", "view", 1, 1, "s")])
    schema = pq.read_schema(next(folder.glob("*.parquet")))
    assert tuple(schema.names) == EVENTS_COLUMNS
    assert schema.field("event_time").type == pa.timestamp("us", tz="UTC")
    assert schema.field("event_date").type == pa.date32()


DAY = "2019-11-01"
ROWS = [
    ev("2019-11-01 08:00:00", "view", 100, 1, "s1", price=1000.0),
    ev("2019-11-01 08:05:00", "cart", 100, 1, "s1", price=1000.0),
    ev("2019-11-01 23:59:59", "purchase", 300, 2, "s2", price=50.25, code=None, brand="samsung"),
]


def test_load_reads_every_file_and_records_the_manifest(duck):
    wh, lake = duck
    write_partition(lake, DAY, ROWS, files=2, manifest={
        "rows_in": 6, "duplicates_dropped": 1, "rows_quarantined": 2,
        "quarantined_by_reason": {**{r: 0 for r in QUARANTINE_REASONS}, "unparseable_time": 2},
    })
    assert wh.load_events_partition(dt.date(2019, 11, 1), str(lake)) == 3

    events = wh.query("select * from events order by event_time")
    assert list(events.columns) == list(EVENTS_COLUMNS)
    assert events["product_id"].tolist() == [100, 100, 300]
    assert events["category_code"].tolist()[2] is None
    # 23:59:59 UTC stays on the 1st and in hour 23 whatever the machine's zone is.
    assert wh.query("select extract(hour from event_time) as h from events where product_id = 300")["h"].tolist() == [23]

    manifests = wh.read_table("manifests")
    counts = ["rows_in", "rows_valid", "duplicates_dropped", "rows_quarantined", "rows_loaded"]
    assert manifests[counts].values.tolist() == [[6, 3, 1, 2, 3]]
    quarantine = wh.query("select reason, n_rows from manifest_quarantine order by reason")
    assert len(quarantine) == len(QUARANTINE_REASONS)
    assert dict(zip(quarantine["reason"], quarantine["n_rows"]))["unparseable_time"] == 2
    assert quarantine["n_rows"].sum() == 2


def test_loading_the_same_date_twice_leaves_the_warehouse_identical(duck):
    wh, lake = duck
    write_partition(lake, DAY, ROWS)
    write_partition(lake, "2019-11-02", [ev("2019-11-02 10:00:00", "view", 5, 9, "s9")])
    wh.load_events_partition(dt.date(2019, 11, 1), str(lake))
    wh.load_events_partition(dt.date(2019, 11, 2), str(lake))
    first = {t: snapshot(wh, t) for t in ("events", "manifests", "manifest_quarantine")}
    wh.load_events_partition(dt.date(2019, 11, 1), str(lake))
    for table, before in first.items():
        assert snapshot(wh, table).equals(before), table
    assert len(first["events"]) == 4


def test_reload_replaces_only_its_date(duck):
    wh, lake = duck
    write_partition(lake, DAY, ROWS)
    write_partition(lake, "2019-11-02", [ev("2019-11-02 10:00:00", "view", 5, 9, "s9")])
    wh.load_events_partition(dt.date(2019, 11, 1), str(lake))
    wh.load_events_partition(dt.date(2019, 11, 2), str(lake))
    write_partition(lake, DAY, ROWS[:1])  # the cleaning job was rerun and kept one row
    assert wh.load_events_partition(dt.date(2019, 11, 1), str(lake)) == 1
    counts = wh.query("select cast(event_date as string) as d, count(*) as n from events group by 1 order by 1")
    assert counts.values.tolist() == [["2019-11-01", 1], ["2019-11-02", 1]]
    assert wh.query("select rows_valid from manifests where event_date = date '2019-11-01'")["rows_valid"].tolist() == [1]


def test_missing_manifest_is_a_clear_error(duck):
    from shopflow.warehouse.manifest import LoadError

    wh, lake = duck
    write_partition(lake, DAY, ROWS, write_manifest=False)
    with pytest.raises(LoadError, match=r"no manifest for 2019-11-01 at .*manifests/2019-11-01.json"):
        wh.load_events_partition(dt.date(2019, 11, 1), str(lake))
    assert not wh.table_exists("events")


@pytest.mark.parametrize(
    "change, message",
    [
        ({"event_date": "2019-11-02"}, "event_date is '2019-11-02', expected 2019-11-01"),
        ({"rows_valid": -1}, "rows_valid must be a non-negative integer"),
        ({"rows_quarantined": 1}, "quarantined_by_reason adds up to 0, rows_quarantined is 1"),
        ({"quarantined_by_reason": {"bad_reason": 0}}, "unknown \\['bad_reason'\\]"),
    ],
)
def test_a_manifest_breaking_the_contract_is_refused(duck, change, message):
    from shopflow.warehouse.manifest import LoadError

    wh, lake = duck
    write_partition(lake, DAY, ROWS, manifest=change)
    with pytest.raises(LoadError, match=message):
        wh.load_events_partition(dt.date(2019, 11, 1), str(lake))


def test_rows_of_another_date_in_the_partition_are_refused_and_nothing_changes(duck):
    from shopflow.warehouse.manifest import LoadError

    wh, lake = duck
    write_partition(lake, DAY, ROWS)
    wh.load_events_partition(dt.date(2019, 11, 1), str(lake))
    write_partition(lake, DAY, ROWS + [ev("2019-11-02 00:00:01", "view", 1, 1, "s1")])
    with pytest.raises(LoadError, match="holds 1 rows whose event_date is not 2019-11-01"):
        wh.load_events_partition(dt.date(2019, 11, 1), str(lake))
    assert len(wh.read_table("events")) == 3


def test_a_partition_with_wrong_columns_is_refused(duck):
    from shopflow.warehouse.manifest import LoadError

    wh, lake = duck
    folder = write_partition(lake, DAY, ROWS)
    table = pq.read_table(next(folder.glob("*.parquet"))).drop(["brand"])
    pq.write_table(table, next(folder.glob("*.parquet")))
    with pytest.raises(LoadError, match=r"missing \['brand'\]"):
        wh.load_events_partition(dt.date(2019, 11, 1), str(lake))


def test_an_empty_day_loads_zero_rows_but_missing_files_for_valid_rows_fail(duck):
    from shopflow.warehouse.manifest import LoadError

    wh, lake = duck
    write_partition(lake, DAY, [])
    assert wh.load_events_partition(dt.date(2019, 11, 1), str(lake)) == 0
    assert wh.query("select rows_loaded from manifests")["rows_loaded"].tolist() == [0]
    write_partition(lake, "2019-11-02", [], manifest={"rows_in": 5, "rows_valid": 5})
    with pytest.raises(LoadError, match="no Parquet files .* counts 5 valid rows"):
        wh.load_events_partition(dt.date(2019, 11, 2), str(lake))


def test_a_gcs_lake_is_refused_by_duckdb(duck):
    from shopflow.warehouse.manifest import LoadError

    wh, _ = duck
    with pytest.raises(LoadError, match="set SHOPFLOW_WAREHOUSE=bigquery"):
        wh.load_events_partition(dt.date(2019, 11, 1), "gs://bucket/lake")
