"""The cleaning job end to end: the real ``spark-submit jobs/clean_events.py`` twice on a small
landing folder of good and bad lines, then failure and recovery paths in-process.

Expected rows, counts and checksums are written out by hand (the checksum with a separate
pure-Python XXH64); the lake is read back with pyarrow, not Spark.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from shopflow import clean
from shopflow.runtime import REPO_ROOT
from shopflow.schema import EVENTS_COLUMNS, QUARANTINE_REASONS, RAW_HEADER

D1, D2 = dt.date(2019, 11, 1), dt.date(2019, 11, 2)  # a Friday and a Saturday
S1 = "72d76fde-8bb3-4e00-8c23-a032dfed738c"
S2 = "9333dfbd-b87a-4708-9857-6336556b0fcc"
S3 = "980e114b-2429-f562-9d6b-1a04c22d8177"
S4 = "0d8b2e6c-9a41-4c55-8f0e-3b7a5d1c2e90"
UTC = dt.timezone.utc

GOOD_1 = f"2019-11-01 00:00:00 UTC,view,44600062,2103807459595387724,,shiseido,35.79,541312140,{S1}"
GOOD_2 = f"2019-11-01 00:00:00 UTC,view,3900821,2053013552326770905,appliances.environment.water_heater,aqua,33.20,554748717,{S2}"
GOOD_2_AGAIN = GOOD_2.replace(",33.20,", ",33.2,")  # the same values written differently
CART = f"2019-11-01 13:05:00 UTC,cart,1005021,2053013555631882655,electronics.smartphone,,386.06,555283946,{S3}"
REMOVE = f"2019-11-01 13:07:00 UTC,remove_from_cart,1005021,2053013555631882655,electronics.smartphone,,386.06,555283946,{S3}"
BUY = f"2019-11-01 23:59:59 UTC,purchase,1005021,2053013555631882655,electronics,samsung,386.06,555283946,{S3}"


def _bad(**changes):
    fields = dict(
        time="2019-11-01 10:00:00 UTC", event="view", product="1005021", category_id="2053013555631882655",
        code="electronics.smartphone", brand="apple", price="999.00", user="555283946", session=S3,
    )
    fields.update(changes)
    return ",".join(fields.values())


FLOAT_ID = _bad(product="5802432.0")
#: (line, reason) of every quarantined line of D1, a float id twice and two wrong counts.
QUARANTINED = [
    (FLOAT_ID, "non_integer_id"),
    (_bad(time="2019-11-01T10:00:00Z"), "unparseable_time"),
    (_bad(time="2019-11-02 00:00:00 UTC"), "time_outside_partition"),
    (_bad(event="click"), "unknown_event_type"),
    (_bad(price=""), "missing_price"),
    (_bad(price="-1.00"), "negative_price"),
    (_bad(user=""), "missing_user_id"),
    (_bad(session=""), "missing_user_session"),
    ("garbage", "wrong_column_count"),
    (FLOAT_ID, "non_integer_id"),
    ("2019-11-01 23:59:59 UTC,view,100", "wrong_column_count"),  # the truncated last line
]
D1_LINES = [GOOD_1, GOOD_2, GOOD_2, GOOD_2_AGAIN, CART, REMOVE, BUY] + [line for line, _ in QUARANTINED]

D2_VIEW = f"2019-11-02 08:00:00 UTC,view,1,2,,,0.00,3,{S4}"
D2_BUY = f"2019-11-02 09:00:00 UTC,purchase,1,2,,,0.00,3,{S4}"
D2_LINES = [D2_VIEW, D2_VIEW, D2_BUY]


def _t(day, h, m, s):
    return dt.datetime(day.year, day.month, day.day, h, m, s, tzinfo=UTC)


#: The lake's events rows, in EVENTS_COLUMNS order and in file order.
D1_EVENTS = [
    (_t(D1, 0, 0, 0), D1, 0, 5, "view", 3900821, 2053013552326770905, "appliances.environment.water_heater",
     "appliances", "environment", "water_heater", "aqua", 33.2, 554748717, S2),
    (_t(D1, 0, 0, 0), D1, 0, 5, "view", 44600062, 2103807459595387724, None, None, None, None, "shiseido",
     35.79, 541312140, S1),
    (_t(D1, 13, 5, 0), D1, 13, 5, "cart", 1005021, 2053013555631882655, "electronics.smartphone", "electronics",
     "smartphone", "smartphone", None, 386.06, 555283946, S3),
    (_t(D1, 13, 7, 0), D1, 13, 5, "remove_from_cart", 1005021, 2053013555631882655, "electronics.smartphone",
     "electronics", "smartphone", "smartphone", None, 386.06, 555283946, S3),
    (_t(D1, 23, 59, 59), D1, 23, 5, "purchase", 1005021, 2053013555631882655, "electronics", "electronics", None,
     "electronics", "samsung", 386.06, 555283946, S3),
]
D2_EVENTS = [
    (_t(D2, 8, 0, 0), D2, 8, 6, "view", 1, 2, None, None, None, None, None, 0.0, 3, S4),
    (_t(D2, 9, 0, 0), D2, 9, 6, "purchase", 1, 2, None, None, None, None, None, 0.0, 3, S4),
]

# ---- an independent XXH64 (the reference algorithm), to check the manifest checksum -------

_M = (1 << 64) - 1
_P1, _P2, _P3, _P4, _P5 = (
    0x9E3779B185EBCA87, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0x85EBCA77C2B2AE63, 0x27D4EB2F165667C5,
)


def _rotl(x, r):
    return ((x << r) | (x >> (64 - r))) & _M


def _round(acc, lane):
    return (_rotl((acc + lane * _P2) & _M, 31) * _P1) & _M


def _xxh64(data: bytes, seed: int) -> int:
    seed &= _M
    n, i = len(data), 0
    if n >= 32:
        v = [(seed + _P1 + _P2) & _M, (seed + _P2) & _M, seed, (seed - _P1) & _M]
        while i + 32 <= n:
            v = [_round(v[k], struct.unpack_from("<Q", data, i + 8 * k)[0]) for k in range(4)]
            i += 32
        h = (_rotl(v[0], 1) + _rotl(v[1], 7) + _rotl(v[2], 12) + _rotl(v[3], 18)) & _M
        for lane in v:
            h = ((h ^ _round(0, lane)) * _P1 + _P4) & _M
    else:
        h = (seed + _P5) & _M
    h = (h + n) & _M
    while i + 8 <= n:
        h = (_rotl(h ^ _round(0, struct.unpack_from("<Q", data, i)[0]), 27) * _P1 + _P4) & _M
        i += 8
    if i + 4 <= n:
        h = (_rotl(h ^ (struct.unpack_from("<I", data, i)[0] * _P1 & _M), 23) * _P2 + _P3) & _M
        i += 4
    while i < n:
        h = (_rotl(h ^ (data[i] * _P5 & _M), 11) * _P1) & _M
        i += 1
    h = (h ^ (h >> 33)) * _P2 & _M
    h = (h ^ (h >> 29)) * _P3 & _M
    return h ^ (h >> 32)


def _row_hash(event_time, event_type, product_id, category_id, code, brand, price, user_id, session):
    """Spark's xxhash64 (seed 42) of the 9 public columns, nullable texts as '' (the job's definition)."""
    micros = int(event_time.timestamp()) * 1_000_000
    h = 42
    for part in (
        struct.pack("<q", micros), event_type.encode(), struct.pack("<q", product_id), struct.pack("<q", category_id),
        (code or "").encode(), (brand or "").encode(), struct.pack("<d", price), struct.pack("<q", user_id),
        session.encode(),
    ):
        h = _xxh64(part, h)
        h = h - (1 << 64) if h >= 1 << 63 else h  # Spark chains the signed value
    return h


def _checksum(rows) -> str:
    total = 0
    for r in rows:
        total ^= _row_hash(r[0], r[4], r[5], r[6], r[7], r[11], r[12], r[13], r[14]) & _M
    return f"{total:016x}"


def test_the_reference_xxh64_matches_spark(spark):
    row = spark.sql("select xxhash64('abc') a, xxhash64(cast(5 as bigint)) b, xxhash64(35.79d) c").collect()[0]
    assert [row.a & _M, row.b & _M, row.c & _M] == [
        _xxh64(b"abc", 42),
        _xxh64(struct.pack("<q", 5), 42),
        _xxh64(struct.pack("<d", 35.79), 42),
    ]


# ---- the real job, twice ------------------------------------------------------------------


def _write_landing(folder: Path) -> dict[dt.date, Path]:
    folder.mkdir(parents=True)
    d1 = folder / f"{D1}.csv.gz"
    # The header, then the lines; the last one is cut short with no newline after it.
    d1.write_bytes(gzip.compress(("\n".join([RAW_HEADER, *D1_LINES])).encode()))
    d2 = folder / f"{D2}.csv"  # a plain CSV without a header
    d2.write_text("\n".join(D2_LINES) + "\n")
    return {D1: d1, D2: d2}


def _spark_submit(*args: str) -> list[dict]:
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}
    cmd = [
        shutil.which("spark-submit"), "--master", "local[2]", "--conf", "spark.ui.enabled=false",
        str(REPO_ROOT / "jobs" / "clean_events.py"), *args,
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    # The job prints a manifest per date, between progress lines (shopflow draws those as a bar).
    records = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    return [r for r in records if "progress" not in r]


def _read(folder: Path) -> tuple[list[str], list[tuple]]:
    """File names and rows (in file-name order) of a lake partition, read with pyarrow."""
    import pyarrow.parquet as pq

    names = sorted(p.name for p in folder.glob("*.parquet"))
    rows = []
    for name in names:
        table = pq.read_table(folder / name)
        rows += [tuple(r.values()) for r in table.to_pylist()]
    return names, rows


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    root = tmp_path_factory.mktemp("clean-job")
    landing, lake = root / "landing", root / "lake"
    files = _write_landing(landing)
    first = _spark_submit("--date", str(D1), "--landing", str(landing), "--lake", str(lake))
    before = {kind: _read(lake / kind / f"event_date={D1}") for kind in ("events", "quarantine")}
    manifest_before = json.loads((lake / "manifests" / f"{D1}.json").read_text())
    current_before = clean.lake_partition_current(str(landing), str(lake), D1)
    second = _spark_submit("--from", str(D1), "--to", str(D2), "--landing", str(landing), "--lake", str(lake))
    return {
        "landing": landing, "lake": lake, "files": files, "first": first, "second": second,
        "before": before, "manifest_before": manifest_before, "current_before": current_before,
    }


def test_the_manifest_accounts_for_every_line(job):
    manifest = job["first"][0]
    assert manifest == job["manifest_before"]  # printed by the job and written to lake/manifests
    by_reason = dict.fromkeys(QUARANTINE_REASONS, 0)
    by_reason.update(
        non_integer_id=2, unparseable_time=1, time_outside_partition=1, unknown_event_type=1, missing_price=1,
        negative_price=1, missing_user_id=1, missing_user_session=1, wrong_column_count=2,
    )
    assert {k: v for k, v in manifest.items() if k not in ("started_at", "finished_at")} == {
        "event_date": "2019-11-01",
        "source": str(job["files"][D1]),
        "source_sha256": hashlib.sha256(job["files"][D1].read_bytes()).hexdigest(),
        "job_version": clean.JOB_VERSION,
        "rows_in": 18,
        "rows_valid": 5,
        "duplicates_dropped": 2,
        "rows_quarantined": 11,
        "quarantined_by_reason": by_reason,
        "checksum": _checksum(D1_EVENTS),
    }
    assert manifest["rows_in"] == manifest["rows_valid"] + manifest["duplicates_dropped"] + manifest["rows_quarantined"]
    started = dt.datetime.fromisoformat(manifest["started_at"])
    assert started.tzinfo is not None and started <= dt.datetime.fromisoformat(manifest["finished_at"])


def test_events_are_typed_sorted_and_deduplicated(job):
    import pyarrow as pa
    import pyarrow.parquet as pq

    _, rows = job["before"]["events"]
    assert rows == D1_EVENTS  # file-name order is time order
    for path in (job["lake"] / "events" / f"event_date={D1}").glob("*.parquet"):
        schema = pq.read_schema(path)
        assert schema.names == list(EVENTS_COLUMNS)
        types = dict(zip(schema.names, schema.types))
        assert types["event_time"] == pa.timestamp("us", tz="UTC")
        assert types["event_date"] == pa.date32()
        assert {types[c] for c in ("event_hour", "event_weekday", "product_id", "category_id", "user_id")} == {pa.int64()}
        assert types["price"] == pa.float64()
        assert {types[c] for c in ("event_type", "category_code", "brand", "user_session")} == {pa.string()}


def test_quarantine_keeps_each_bad_line_with_its_reason(job):
    _, rows = job["before"]["quarantine"]
    assert sorted(rows) == sorted((D1, reason, line) for line, reason in QUARANTINED)


def test_a_rerun_replaces_the_partition_and_changes_nothing(job):
    lake = job["lake"]
    for kind in ("events", "quarantine"):
        names, rows = _read(lake / kind / f"event_date={D1}")
        old_names, old_rows = job["before"][kind]
        assert rows == old_rows
        assert len(names) == len(old_names) and set(names).isdisjoint(old_names)  # rewritten, not appended
    again = json.loads((lake / "manifests" / f"{D1}.json").read_text())
    stable = {k: v for k, v in again.items() if k not in ("started_at", "finished_at")}
    assert stable == {k: v for k, v in job["manifest_before"].items() if k not in ("started_at", "finished_at")}
    assert sorted(p.name for p in lake.iterdir()) == ["events", "manifests", "quarantine"]  # no staging or trash left


def test_a_range_is_one_job_and_handles_a_headerless_plain_csv(job):
    assert [m["event_date"] for m in job["second"]] == ["2019-11-01", "2019-11-02"]
    d2 = job["second"][1]
    assert (d2["rows_in"], d2["rows_valid"], d2["duplicates_dropped"], d2["rows_quarantined"]) == (3, 2, 1, 0)
    assert d2["checksum"] == _checksum(D2_EVENTS)
    assert _read(job["lake"] / "events" / f"event_date={D2}")[1] == D2_EVENTS
    assert not (job["lake"] / "quarantine" / f"event_date={D2}").exists()
    assert job["second"][0]["started_at"] == d2["started_at"]


def test_lake_partition_current_follows_the_landing_file(job, tmp_path):
    landing, lake = job["landing"], job["lake"]
    assert job["current_before"] is True
    assert clean.lake_partition_current(str(landing), str(lake), D2) is True
    changed = tmp_path / "landing"
    shutil.copytree(landing, changed)
    with open(changed / f"{D2}.csv", "a") as handle:
        handle.write(D2_BUY.replace("09:00:00", "10:00:00") + "\n")
    assert clean.lake_partition_current(str(changed), str(lake), D2) is False
    assert clean.lake_partition_current(str(changed), str(lake), D1) is True


# ---- failures, in-process ----------------------------------------------------------------


@pytest.fixture
def built(spark, tmp_path):
    """A lake with D1 built in-process, and a snapshot of every file in it."""
    landing, lake = tmp_path / "landing", tmp_path / "lake"
    _write_landing(landing)
    clean.run_clean(spark, [D1], str(landing), str(lake))
    return landing, lake, _snapshot(lake)


def _snapshot(lake: Path) -> dict[str, bytes]:
    return {str(p.relative_to(lake)): p.read_bytes() for p in sorted(lake.rglob("*")) if p.is_file()}


def test_a_failed_check_publishes_nothing(spark, built, monkeypatch):
    landing, lake, snapshot = built

    def refuse(*args, **kwargs):
        raise clean.AccountingError("row accounting failed (simulated)")

    monkeypatch.setattr(clean, "_account", refuse)
    with pytest.raises(clean.AccountingError, match="simulated"):
        clean.run_clean(spark, [D1], str(landing), str(lake))
    assert _snapshot(lake) == snapshot
    assert not (lake / "_staging").exists()


def test_a_failed_swap_restores_the_previous_partition(spark, built, monkeypatch):
    landing, lake, snapshot = built
    real_write = clean.HadoopFs.write_text

    def fail_on_manifest(self, path, text):
        if path.endswith(".json"):
            raise OSError("disk full (simulated)")
        return real_write(self, path, text)

    monkeypatch.setattr(clean.HadoopFs, "write_text", fail_on_manifest)
    with pytest.raises(OSError, match="simulated"):
        clean.run_clean(spark, [D1], str(landing), str(lake))
    assert _snapshot(lake) == snapshot
    assert not (lake / "_staging").exists()


def test_a_partition_left_aside_by_a_killed_run_is_restored(spark, built):
    landing, lake, snapshot = built
    # What a run killed between moving the old partition aside and moving the new one in leaves.
    aside = lake / "_trash" / "20191102T000000Z-dead"
    for kind, name in (("events", f"event_date={D1}"), ("quarantine", f"event_date={D1}"), ("manifests", f"{D1}.json")):
        (aside / kind).mkdir(parents=True)
        (lake / kind / name).rename(aside / kind / name)
    for crc in (lake / "manifests").glob(".*.crc"):
        crc.rename(aside / "manifests" / crc.name)
    assert clean.lake_partition_current(str(landing), str(lake), D1) is False
    clean._recover(clean.HadoopFs(spark, str(lake)), str(lake), [D1])
    assert _snapshot(lake) == snapshot
    assert clean.lake_partition_current(str(landing), str(lake), D1) is True


def test_a_day_without_valid_rows_gets_an_empty_partition(spark, tmp_path):
    import pyarrow.parquet as pq

    landing, lake = tmp_path / "landing", tmp_path / "lake"
    landing.mkdir()
    (landing / f"{D1}.csv").write_text(RAW_HEADER + "\n" + "garbage\n")
    [manifest] = clean.run_clean(spark, [D1], str(landing), str(lake))
    assert (manifest["rows_in"], manifest["rows_valid"], manifest["rows_quarantined"]) == (1, 0, 1)
    assert manifest["checksum"] == "0000000000000000"
    [empty] = (lake / "events" / f"event_date={D1}").glob("*.parquet")
    table = pq.read_table(empty)
    assert table.num_rows == 0 and table.schema.names == list(EVENTS_COLUMNS)


def test_a_missing_landing_file_is_named(spark, tmp_path):
    landing = tmp_path / "landing"
    _write_landing(landing)
    with pytest.raises(FileNotFoundError, match="2019-11-03"):
        clean.run_clean(spark, [D1, dt.date(2019, 11, 3)], str(landing), str(tmp_path / "lake"))
    assert not (tmp_path / "lake" / "events").exists()
