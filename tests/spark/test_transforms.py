"""The cleaning transforms on tiny inline frames, with expected rows written out by hand."""

from __future__ import annotations

import datetime as dt

import pytest

from shopflow import transforms
from shopflow.schema import EVENTS_SCHEMA, QUARANTINE_REASONS, RAW_HEADER

DAY = dt.date(2019, 11, 1)  # a Friday
MIDNIGHT = 1572566400  # 2019-11-01 00:00:00 UTC in seconds since the epoch
SESSION = "980e114b-2429-f562-9d6b-1a04c22d8177"
GOOD = f"2019-11-01 10:20:30 UTC,view,1005021,2053013555631882655,electronics.smartphone,samsung,386.06,555283946,{SESSION}"
GOOD_EPOCH = MIDNIGHT + 10 * 3600 + 20 * 60 + 30


def line(
    time="2019-11-01 10:20:30 UTC",
    event="view",
    product="1005021",
    category_id="2053013555631882655",
    code="electronics.smartphone",
    brand="samsung",
    price="386.06",
    user="555283946",
    session=SESSION,
):
    return ",".join([time, event, product, category_id, code, brand, price, user, session])


def lines(spark, *values, day=DAY):
    return spark.createDataFrame([(v, day) for v in values], "value string, partition_date date")


def checked(spark, *values, day=DAY):
    return transforms.validate(lines(spark, *values, day=day))


def valid_events(spark, *values, day=DAY):
    staged = transforms.stage(checked(spark, *values, day=day))
    return transforms.to_events(staged.where(f"kind = '{transforms.EVENTS}'"))


#: (line, reason): every reason code, and the damage real exports show.
BAD_LINES = [
    # wrong_column_count: a truncated last line, an extra field, a stray line, a blank line,
    # an export with a leading index column
    ("2019-11-01 10:20:30 UTC,view,1005021", "wrong_column_count"),
    (GOOD + ",extra", "wrong_column_count"),
    ("garbage", "wrong_column_count"),
    ("", "wrong_column_count"),
    ("0," + GOOD, "wrong_column_count"),
    # unparseable_time: other layouts, impossible values, no zone, a damaged seconds field
    (line(time="2019-11-01T10:20:30Z"), "unparseable_time"),
    (line(time="2019-11-01 10:20:30"), "unparseable_time"),
    (line(time="2019-11-01 24:00:00 UTC"), "unparseable_time"),
    (line(time="2019-02-30 10:00:00 UTC"), "unparseable_time"),
    (line(time="2019-11-1 10:20:30 UTC"), "unparseable_time"),
    (line(time="2019-11-01 10:20:3  UTC"), "unparseable_time"),
    (line(time="2019-11-01 10:20:30.5 UTC"), "unparseable_time"),
    (line(time="2019-11-01 10:20:30 CET"), "unparseable_time"),
    (line(time=""), "unparseable_time"),
    # time_outside_partition: either side of the day, in UTC
    (line(time="2019-11-02 00:00:00 UTC"), "time_outside_partition"),
    (line(time="2019-10-31 23:59:59 UTC"), "time_outside_partition"),
    # unknown_event_type: case and spacing matter
    (line(event="click"), "unknown_event_type"),
    (line(event="View"), "unknown_event_type"),
    (line(event="view "), "unknown_event_type"),
    (line(event=""), "unknown_event_type"),
    # non_integer_id: ids written as floats, signs, spaces, leading zeros, empty, past 2**63 - 1
    (line(product="5802432.0"), "non_integer_id"),
    (line(category_id="2.053013555631882e18"), "non_integer_id"),
    (line(user="555283946.0"), "non_integer_id"),
    (line(product="-5"), "non_integer_id"),
    (line(product="+5"), "non_integer_id"),
    (line(product=" 5"), "non_integer_id"),
    (line(product="5 "), "non_integer_id"),
    (line(product="0007"), "non_integer_id"),
    (line(product=""), "non_integer_id"),
    (line(category_id="9223372036854775808"), "non_integer_id"),
    # missing_price: empty or not a number
    (line(price=""), "missing_price"),
    (line(price="abc"), "missing_price"),
    (line(price="NaN"), "missing_price"),
    (line(price="Infinity"), "missing_price"),
    (line(price="-0.01"), "negative_price"),
    (line(user=""), "missing_user_id"),
    (line(session=""), "missing_user_session"),
]


@pytest.mark.parametrize("value, expected", BAD_LINES)
def test_each_bad_line_gets_its_reason(spark, value, expected):
    rows = checked(spark, value).collect()
    assert [(r.reason, r.raw_line) for r in rows] == [(expected, value)]


def test_the_bad_lines_cover_every_reason_code():
    assert {reason for _, reason in BAD_LINES} == set(QUARANTINE_REASONS)


@pytest.mark.parametrize(
    "value, expected",
    [
        # several problems: the first in schema.QUARANTINE_REASONS order wins
        (line(time="yesterday", product="5.0"), "unparseable_time"),
        (line(time="2019-11-02 00:00:00 UTC", event="click"), "time_outside_partition"),
        (line(event="click", product="5.0"), "unknown_event_type"),
        (line(product="5.0", price=""), "non_integer_id"),
        (line(price="", user=""), "missing_price"),
        (line(price="-1", user=""), "negative_price"),
        (line(user="", session=""), "missing_user_id"),
        (line(user="1.0", session=""), "non_integer_id"),
    ],
)
def test_the_first_reason_in_priority_order_wins(spark, value, expected):
    assert [r.reason for r in checked(spark, value).collect()] == [expected]


def test_the_good_line_is_valid_and_typed(spark):
    from pyspark.sql import functions as F

    row = checked(spark, GOOD).select("*", F.unix_seconds("event_time").alias("epoch")).collect()[0]
    assert row.reason is None
    assert row.raw_line is None  # kept for quarantined rows only
    assert row.epoch == GOOD_EPOCH
    assert (row.event_type, row.product_id, row.category_id) == ("view", 1005021, 2053013555631882655)
    assert (row.category_code, row.brand, row.price) == ("electronics.smartphone", "samsung", 386.06)
    assert (row.user_id, row.user_session) == (555283946, SESSION)


def test_valid_edge_cases(spark):
    rows = checked(
        spark,
        line(event="remove_from_cart"),
        line(code="", brand=""),
        line(price="0"),
        line(price="0.00", event="purchase"),
        line(price="5", event="cart"),
        line(product="0"),
    ).select("reason", "event_type", "product_id", "category_code", "brand", "price")
    assert [tuple(r) for r in rows.collect()] == [
        (None, "remove_from_cart", 1005021, "electronics.smartphone", "samsung", 386.06),
        (None, "view", 1005021, None, None, 386.06),
        (None, "view", 1005021, "electronics.smartphone", "samsung", 0.0),
        (None, "purchase", 1005021, "electronics.smartphone", "samsung", 0.0),
        (None, "cart", 1005021, "electronics.smartphone", "samsung", 5.0),
        (None, "view", 0, "electronics.smartphone", "samsung", 386.06),
    ]


def test_header_lines_are_dropped_wherever_they_are(spark):
    frame = lines(spark, RAW_HEADER, GOOD, "\ufeff" + RAW_HEADER, line(event="cart"), "event_time,event_type")
    kept = [r.value for r in transforms.drop_header(frame).collect()]
    # A damaged header is not a header: it stays, and validation quarantines it.
    assert kept == [GOOD, line(event="cart"), "event_time,event_type"]


def test_day_boundary_in_utc(spark):
    from pyspark.sql import functions as F

    sunday, monday = dt.date(2019, 11, 3), dt.date(2019, 11, 4)
    frame = lines(spark, line(time="2019-11-01 00:00:00 UTC"), line(time="2019-11-01 23:59:59 UTC"))
    frame = frame.unionByName(lines(spark, line(time="2019-11-03 23:59:59 UTC"), day=sunday))
    frame = frame.unionByName(lines(spark, line(time="2019-11-04 00:00:00 UTC"), day=monday))
    staged = transforms.stage(transforms.validate(frame))
    events = transforms.to_events(staged)
    rows = events.select(F.unix_seconds("event_time").alias("epoch"), "event_date", "event_hour", "event_weekday")
    expected = [
        (MIDNIGHT, DAY, 0, 5),
        (MIDNIGHT + 86399, DAY, 23, 5),
        (MIDNIGHT + 3 * 86400 - 1, sunday, 23, 7),
        (MIDNIGHT + 3 * 86400, monday, 0, 1),
    ]
    assert [tuple(r) for r in rows.collect()] == expected


def test_nothing_depends_on_the_session_time_zone(spark):
    """New York is UTC-4 on 2019-11-01: a zone-dependent step would move 23:59:59 to the 1st
    at 19:59:59 and 00:00:00 on the 2nd into the partition of the 1st."""
    from pyspark.sql import functions as F

    values = [line(time=f"2019-11-0{t} UTC") for t in ("1 23:59:59", "2 00:00:00", "1 02:00:00")]
    spark.conf.set("spark.sql.session.timeZone", "America/New_York")
    try:
        staged = transforms.stage(transforms.validate(lines(spark, *values)))
        events = transforms.to_events(staged, "kind")
        epoch = F.unix_seconds("event_time").alias("epoch")
        rows = events.select("kind", epoch, "event_date", "event_hour", "event_weekday", "event_type")
        result = [tuple(r) for r in rows.collect()]
    finally:
        spark.conf.set("spark.sql.session.timeZone", "UTC")
    assert result == [
        ("events", MIDNIGHT + 86399, DAY, 23, 5, "view"),
        ("quarantine", None, None, None, None, "time_outside_partition"),
        ("events", MIDNIGHT + 7200, DAY, 2, 5, "view"),
    ]


def test_category_split_for_0_to_4_levels(spark):
    codes = ["", "electronics", "electronics.smartphone", "appliances.kitchen.washer", "a.b.c.d", "a..c"]
    events = valid_events(spark, *[line(code=c) for c in codes])
    rows = events.select("category_code", "category", "sub_category", "product").collect()
    assert [tuple(r) for r in rows] == [
        (None, None, None, None),
        ("electronics", "electronics", None, "electronics"),
        ("electronics.smartphone", "electronics", "smartphone", "smartphone"),
        ("appliances.kitchen.washer", "appliances", "kitchen", "washer"),
        ("a.b.c.d", "a", "b", "d"),
        ("a..c", "a", None, "c"),
    ]


def test_events_have_the_warehouse_columns_and_types(spark):
    spark_type = {"TIMESTAMP": "timestamp", "DATE": "date", "INT64": "bigint", "FLOAT64": "double", "STRING": "string"}
    events = valid_events(spark, GOOD)
    assert [(f.name, f.dataType.simpleString()) for f in events.schema.fields] == [
        (name, spark_type[kind]) for name, kind in EVENTS_SCHEMA
    ]


def test_stage_carries_both_kinds_and_unstage_restores_the_quarantine(spark):
    bad = line(product="5.0")
    staged = transforms.stage(checked(spark, GOOD, bad, bad, "garbage"))
    rows = staged.select("kind", "event_type", "user_session", "product_id", "quarantine_id").collect()
    assert [r[:4] for r in rows] == [
        ("events", "view", SESSION, 1005021),
        ("quarantine", "non_integer_id", bad, None),
        ("quarantine", "non_integer_id", bad, None),
        ("quarantine", "wrong_column_count", "garbage", None),
    ]
    ids = [r.quarantine_id for r in rows]
    assert ids[0] is None and len(set(ids[1:])) == 3
    back = transforms.unstage_quarantine(staged).collect()
    assert [tuple(r) for r in back] == [
        (DAY, "non_integer_id", bad),
        (DAY, "non_integer_id", bad),
        (DAY, "wrong_column_count", "garbage"),
    ]


def test_exact_duplicates_are_dropped_and_counted(spark):
    other_session = SESSION.replace("980e", "0000")
    staged = transforms.stage(
        checked(
            spark,
            GOOD,
            GOOD,
            line(price="386.060"),  # the same parsed row written differently: a duplicate too
            line(session=other_session),
            line(brand=""),
            line(brand=""),
            line(product="5.0"),  # quarantined lines are never merged
            line(product="5.0"),
        )
    )
    deduped = transforms.drop_duplicates(staged)
    rows = sorted((r.kind, r.user_session, r.brand or "", r.duplicates) for r in deduped.collect())
    assert rows == [
        ("events", other_session, "samsung", 0),
        ("events", SESSION, "", 1),
        ("events", SESSION, "samsung", 2),
        ("quarantine", line(product="5.0"), "", 0),
        ("quarantine", line(product="5.0"), "", 0),
    ]


def test_layout_puts_each_day_slice_in_its_own_partition(spark):
    from pyspark.sql import functions as F

    frame = lines(
        spark,
        line(time="2019-11-01 00:00:00 UTC"),
        line(time="2019-11-01 11:59:59 UTC"),
        line(time="2019-11-01 12:00:00 UTC"),
        line(time="2019-11-01 23:59:59 UTC"),
        "garbage",
    ).unionByName(lines(spark, line(time="2019-11-02 05:00:00 UTC"), day=dt.date(2019, 11, 2)))
    laid_out = transforms.layout(frame, DAY, slices_per_day=2, partitions=4)
    hour, partition = F.substring("value", 1, 13).alias("hour"), F.spark_partition_id().alias("p")
    rows = laid_out.select(hour, "slice_id", partition).collect()
    assert sorted((r.hour, r.slice_id) for r in rows) == [
        ("2019-11-01 00", 0),
        ("2019-11-01 11", 0),
        ("2019-11-01 12", 1),
        ("2019-11-01 23", 1),
        ("2019-11-02 05", 2),
        ("garbage", 0),
    ]
    assert all(r.p == r.slice_id for r in rows)


def test_one_sort_serves_the_dedup_and_the_writer(spark):
    """The performance design: after the layout shuffle, one sort feeds a streaming dedup and
    the file writer; no second shuffle or sort. Needs the load step's session settings."""
    from shopflow.clean import _LOAD_CONF, _session_conf

    frame = lines(spark, GOOD, GOOD, line(time="2019-11-01 09:00:00 UTC"), "garbage")
    staged = transforms.sort_for_output(transforms.stage(transforms.validate(transforms.layout(frame, DAY, 2, 2))))
    with _session_conf(spark, _LOAD_CONF):
        deduped = transforms.drop_duplicates(staged)
        plan = deduped._jdf.queryExecution().executedPlan().toString()
        rows = [(r.kind, r.event_type, r.duplicates) for r in deduped.collect()]
        # What the job hands the writer (partitioned by kind, _d) is already ordered by both.
        written = transforms.to_events(deduped, "kind", "partition_date").withColumnRenamed("partition_date", "_d")
        ordering = written._jdf.queryExecution().executedPlan().outputOrdering().toString()
    assert plan.count("Exchange") == 1 and plan.count("Sort [") == 1
    assert "SortAggregate" in plan and "HashAggregate" not in plan
    assert ordering.startswith("List(kind#") and ordering.split(", ")[1].startswith("_d#")
    assert rows == [("events", "view", 0), ("events", "view", 1), ("quarantine", "wrong_column_count", 0)]


def test_row_hash_tells_which_nullable_column_is_null(spark):
    events = valid_events(spark, line(code="x", brand=""), line(code="", brand="x"), line(code="x", brand=""))
    hashes = [r.h for r in events.select(transforms.row_hash().alias("h")).collect()]
    assert hashes[0] == hashes[2]
    assert hashes[0] != hashes[1]


def test_an_empty_category_id_is_null_and_hashed_apart(spark):
    # Empty in the export, or nulled by `shopflow land --repair-float-ids` (precision lost).
    rows = checked(spark, line(category_id="")).collect()
    assert [(r.reason, r.category_id, r.product_id) for r in rows] == [(None, None, 1005021)]
    events = valid_events(spark, line(category_id=""), line(category_id="0"), line(category_id=""))
    hashes = {(r.category_id, r.h) for r in events.select("category_id", transforms.row_hash().alias("h")).collect()}
    assert sorted(c for c, _ in hashes if c is not None) == [0] and len(hashes) == 2  # equal rows, equal hashes
    assert len({h for _, h in hashes}) == 2
