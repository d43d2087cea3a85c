"""Cleaning transforms for the raw REES46 event log: pure DataFrame -> DataFrame, no I/O.

The job feeds them raw text lines (one row per line, so a bad line can be quarantined
verbatim) tagged with the partition date of the landing file they came from. The rules are
documented in docs/clean.md; in short:

* a line must split on ``,`` into exactly the 9 public columns (the public export never
  quotes, so a comma inside a value shows up as a wrong column count);
* each row gets the first reason of :data:`shopflow.schema.QUARANTINE_REASONS` that applies,
  or none;
* empty ``brand`` / ``category_code`` are valid and become null ("unknown");
* valid rows equal in all 9 parsed values are duplicates: one is kept.

Time is UTC throughout and never depends on the session time zone: ``event_time`` is parsed
with the zone its text names, and dates, hours and weekdays are arithmetic on the instant.

The job's pipeline is ``drop_header -> layout -> validate -> stage -> sort_for_output ->
drop_duplicates -> to_events``: one shuffle, one sort, and a single write for both the
events and the quarantine (see :func:`stage`).
"""

from __future__ import annotations

from shopflow.schema import EVENT_TYPES, EVENTS_COLUMNS, QUARANTINE_REASONS, RAW_COLUMNS, RAW_HEADER

#: The only accepted ``event_time`` layout (``2019-11-01 00:00:00 UTC``).
TIME_REGEX = r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} UTC$"

#: Columns of the line frame :func:`validate` takes (extra columns pass through).
LINE_COLUMNS = ("value", "partition_date")

#: ``kind`` of a staged row.
EVENTS, QUARANTINE = "events", "quarantine"

#: Columns of :func:`stage` and the order of rows inside an output partition: valid rows
#: first, by time, the other public columns breaking ties, so a rerun writes the same rows in
#: the same order. kind and partition_date lead because the file writer needs rows grouped by
#: its directory columns; slice_id (constant within a partition of :func:`layout`) and
#: quarantine_id close the key so that the dedup can group by exactly this order.
STAGED_ORDER = ("kind", "partition_date", *RAW_COLUMNS, "slice_id", "quarantine_id")


def _f():
    from pyspark.sql import functions as F

    return F


def drop_header(lines):
    """Remove header lines, wherever they are (concatenated exports repeat them; BOM allowed)."""
    F = _f()
    return lines.where(~F.col("value").isin(RAW_HEADER, "\ufeff" + RAW_HEADER))


def layout(lines, first_day, slices_per_day: int, partitions: int):
    """Shuffle raw lines to their output partition: one time slice of one day.

    Adds ``slice_id = day * slices_per_day + slice`` (days counted from ``first_day``), where a
    day is cut into ``slices_per_day`` equal spans of hours read from the line's hour digits,
    so slice order is time order and copies of a line share a slice; lines without readable
    hour digits take their day's first slice. Rows go straight to partition ``slice_id``
    (modulo ``partitions``). Done before parsing, so the parsing runs on every core even when
    a single gzip file (read by one task) holds the whole day.
    """
    F = _f()
    day = F.datediff(F.col("partition_date"), F.lit(first_day))
    hour = F.substring("value", 12, 2).try_cast("int")
    span = F.when(hour.between(0, 23), F.floor(hour * slices_per_day / 24)).otherwise(F.lit(0))
    return lines.withColumn("slice_id", (day * slices_per_day + span).cast("int")).repartitionById(
        partitions, "slice_id"
    )


def _as_id(name: str):
    """The id written in column ``name``, or null unless it is a plain non-negative integer.

    Plain means the text is exactly how the number prints: digits only, no sign, spaces or
    leading zeros, and at most 2**63 - 1. ``5802432.0``, ``-1``, ``+1``, ``1e6``, `` 7``,
    ``007`` and the empty text are not ids. (Comparing the printed value is cheaper than a
    regular expression, and the cast alone would accept signs and surrounding spaces.)
    """
    F = _f()
    text = F.col(name)
    value = text.try_cast("bigint")
    return F.when((value >= 0) & (value.cast("string") == text), value)


def _as_time(name: str):
    """``yyyy-MM-dd HH:mm:ss UTC`` as a timestamp, or null for any other text.

    The pattern pins the layout (Spark's cast alone would take ``10:20:3`` for ``10:20:03``);
    the cast then rejects impossible values (hour 24, 30 February). The text names its zone,
    so the result does not depend on the session time zone.
    """
    F = _f()
    text = F.col(name)
    return F.when(text.rlike(TIME_REGEX), text.try_cast("timestamp"))


def validate(lines):
    """Parse raw lines and give each one a quarantine ``reason`` (null for a valid row).

    Input: ``value`` (the raw line), ``partition_date`` (date of its landing file) and any
    other columns, which pass through. Output: ``raw_line`` (kept for quarantined rows only),
    ``partition_date``, ``reason``, the 9 public columns typed (best effort for quarantined
    rows: do not use them), then the passed-through columns.
    """
    F = _f()
    extra = [c for c in lines.columns if c not in LINE_COLUMNS]
    fields = F.split(F.col("value"), ",", -1)
    # Separate projections so the split and each parse run once per row: Spark does not
    # merge projections when that would repeat a non-trivial expression.
    text = lines.select(
        "value",
        "partition_date",
        *extra,
        F.size(fields).alias("_n"),
        # get() returns null past the end where fields[i] would raise in ANSI mode.
        *[F.get(fields, i).alias(f"_{name}") for i, name in enumerate(RAW_COLUMNS)],
    )
    typed = text.select(
        "value",
        "partition_date",
        *extra,
        "_n",
        "_category_id",
        "_user_id",
        "_user_session",
        _as_time("_event_time").alias("event_time"),
        F.col("_event_type").alias("event_type"),
        _as_id("_product_id").alias("product_id"),
        _as_id("_category_id").alias("category_id"),
        F.nullif("_category_code", F.lit("")).alias("category_code"),
        F.nullif("_brand", F.lit("")).alias("brand"),
        F.col("_price").try_cast("double").alias("price"),
        _as_id("_user_id").alias("user_id"),
    )

    price = F.col("price")
    user_id_given = F.col("_user_id") != ""
    # An empty category id is null (a repaired export nulls ids that lost precision as floats).
    category_id_given = F.col("_category_id") != ""
    # A row gets the first reason that applies, in the order of schema.QUARANTINE_REASONS;
    # a check may rely on the earlier ones having passed.
    checks = {
        "wrong_column_count": F.col("_n") != len(RAW_COLUMNS),
        "unparseable_time": F.col("event_time").isNull(),
        "time_outside_partition": _utc_day("event_time") != F.unix_date("partition_date"),
        "unknown_event_type": ~F.col("event_type").isin(*EVENT_TYPES),
        "non_integer_id": F.col("product_id").isNull()
        | (category_id_given & F.col("category_id").isNull())
        | (user_id_given & F.col("user_id").isNull()),
        # NaN and infinities parse as doubles but are not prices.
        "missing_price": price.isNull() | F.isnan(price) | (F.abs(price) == float("inf")),
        "negative_price": price < 0,
        "missing_user_id": ~user_id_given,
        "missing_user_session": F.col("_user_session") == "",
    }
    if set(checks) != set(QUARANTINE_REASONS):
        differ = sorted(set(checks) ^ set(QUARANTINE_REASONS))
        raise RuntimeError(f"reason codes out of sync with shopflow.schema: {differ}")
    first, *rest = QUARANTINE_REASONS
    reason = F.when(checks[first], first)
    for code in rest:
        reason = reason.when(checks[code], code)
    return typed.withColumn("reason", reason).select(
        F.when(F.col("reason").isNotNull(), F.col("value")).alias("raw_line"),
        "partition_date",
        "reason",
        "event_time",
        "event_type",
        "product_id",
        "category_id",
        "category_code",
        "brand",
        "price",
        "user_id",
        F.col("_user_session").alias("user_session"),
        *extra,
    )


def stage(checked):
    """Put valid and quarantined rows in one frame, so one job writes both (columns :data:`STAGED_ORDER`).

    ``kind`` is ``events`` or ``quarantine``. Valid rows keep their parsed values. A
    quarantined row carries its reason in ``event_type``, its raw line in ``user_session``
    and a ``quarantine_id`` unique within the run (so the dedup never merges two bad lines);
    its other public columns are null. :func:`unstage_quarantine` turns such rows back into
    quarantine records. ``slice_id`` is kept if ``checked`` has it.
    """
    F = _f()
    bad = F.col("reason").isNotNull()
    columns = {name: F.when(~bad, F.col(name)).alias(name) for name in RAW_COLUMNS}
    columns["event_type"] = F.when(bad, F.col("reason")).otherwise(F.col("event_type")).alias("event_type")
    columns["user_session"] = F.when(bad, F.col("raw_line")).otherwise(F.col("user_session")).alias("user_session")
    columns["kind"] = F.when(bad, F.lit(QUARANTINE)).otherwise(F.lit(EVENTS)).alias("kind")
    columns["partition_date"] = F.col("partition_date")
    columns["quarantine_id"] = F.when(bad, F.monotonically_increasing_id()).alias("quarantine_id")
    if "slice_id" in checked.columns:
        columns["slice_id"] = F.col("slice_id")
    return checked.select(*[columns[name] for name in STAGED_ORDER if name in columns])


def unstage_quarantine(staged):
    """Quarantine rows of a staged frame -> ``event_date`` (the partition date), ``reason``, ``raw_line``."""
    F = _f()
    return staged.where(F.col("kind") == QUARANTINE).select(
        F.col("partition_date").alias("event_date"),
        F.col("event_type").alias("reason"),
        F.col("user_session").alias("raw_line"),
    )


def sort_for_output(staged):
    """Sort each partition in :data:`STAGED_ORDER` (the columns of it that ``staged`` has)."""
    return staged.sortWithinPartitions(*[c for c in STAGED_ORDER if c in staged.columns])


def drop_duplicates(rows):
    """One row per distinct value of all columns of ``rows``, with ``duplicates`` (copies dropped).

    On staged rows, whose partition date and slice follow from event_time and whose
    quarantined rows are all distinct, that is one row per distinct value of the 9 public
    columns of the valid rows. Grouping in the column order of a frame sorted by
    :func:`sort_for_output` lets Spark aggregate by streaming over that sort (with
    ``spark.sql.execution.replaceHashWithSortAgg``), without another shuffle or sort.
    """
    F = _f()
    return rows.groupBy(*rows.columns).agg((F.count(F.lit(1)) - 1).alias("duplicates"))


def split_category(rows):
    """Add ``category`` (first level), ``sub_category`` (second) and ``product`` (last level).

    ``electronics`` -> (electronics, null, electronics); ``a.b`` -> (a, b, b);
    ``a.b.c`` -> (a, b, c); null -> all null. An empty level (``a..c``) is null.
    substring_index cuts on bytes, no array or regular expression per row.
    """
    F = _f()
    code = F.col("category_code")

    def level(text):
        return F.nullif(text, F.lit(""))

    return rows.withColumns(
        {
            "category": level(F.substring_index(code, ".", 1)),
            "sub_category": F.when(
                code.contains("."), level(F.substring_index(F.substring_index(code, ".", 2), ".", -1))
            ),
            "product": level(F.substring_index(code, ".", -1)),
        }
    )


_MICROS_PER_DAY = 86_400_000_000
_MICROS_PER_HOUR = 3_600_000_000


def _utc_day(timestamp):
    """Days since 1970-01-01 of a timestamp, in UTC whatever the session time zone."""
    F = _f()
    return F.floor(F.unix_micros(timestamp) / _MICROS_PER_DAY).cast("int")


def add_time_parts(rows):
    """Add ``event_date``, ``event_hour`` (0-23) and ``event_weekday`` (ISO: 1 = Monday), in UTC.

    Plain arithmetic on the instant, so the session time zone plays no part (and it is
    cheaper than Spark's calendar functions). 1970-01-01 was a Thursday (ISO 4).
    """
    F = _f()
    day = _utc_day("event_time")
    return rows.withColumns(
        {
            "event_date": F.date_from_unix_date(day),
            "event_hour": F.pmod(F.floor(F.unix_micros("event_time") / _MICROS_PER_HOUR), F.lit(24)).cast("bigint"),
            "event_weekday": (F.pmod(day + 3, F.lit(7)) + 1).cast("bigint"),
        }
    )


def to_events(rows, *extra: str):
    """Valid rows -> the :data:`shopflow.schema.EVENTS_COLUMNS`, in order (then ``extra``)."""
    return add_time_parts(split_category(rows)).select(*EVENTS_COLUMNS, *extra)


def row_hash():
    """A 64-bit hash of a row's 9 public columns: the building block of the manifest checksum.

    Spark's xxhash64 (seed 42) skips nulls, so the two nullable text columns are hashed as ''
    when null, or (brand=null, code='x') and (brand='x', code=null) would collide. Empty text
    never reaches the lake (it becomes null), so '' stands for null unambiguously; likewise a
    null category id is hashed as -1, which no id is.
    """
    F = _f()
    nullable = {"category_code": F.lit(""), "brand": F.lit(""), "category_id": F.lit(-1).cast("bigint")}
    return F.xxhash64(*[F.coalesce(F.col(c), nullable[c]) if c in nullable else F.col(c) for c in RAW_COLUMNS])
