"""The names that stay fixed: raw CSV format, lake and warehouse columns."""

from __future__ import annotations

#: Header of the public REES46 CSV export, in order.
RAW_COLUMNS = (
    "event_time",
    "event_type",
    "product_id",
    "category_id",
    "category_code",
    "brand",
    "price",
    "user_id",
    "user_session",
)
RAW_HEADER = ",".join(RAW_COLUMNS)

#: Accepted event types. The multi-category file has view, cart and purchase;
#: remove_from_cart appears in the cosmetics-shop files and is valid here too.
EVENT_TYPES = ("view", "cart", "remove_from_cart", "purchase")

#: How event_time is written in the public file.
TIME_FORMAT = "%Y-%m-%d %H:%M:%S UTC"

#: Columns of lake/events Parquet files and of the warehouse ``events`` table, with
#: BigQuery types. ``event_weekday`` is ISO (1 = Monday ... 7 = Sunday).
EVENTS_SCHEMA = (
    ("event_time", "TIMESTAMP"),
    ("event_date", "DATE"),
    ("event_hour", "INT64"),
    ("event_weekday", "INT64"),
    ("event_type", "STRING"),
    ("product_id", "INT64"),
    ("category_id", "INT64"),
    ("category_code", "STRING"),
    ("category", "STRING"),
    ("sub_category", "STRING"),
    ("product", "STRING"),
    ("brand", "STRING"),
    ("price", "FLOAT64"),
    ("user_id", "INT64"),
    ("user_session", "STRING"),
)
EVENTS_COLUMNS = tuple(name for name, _ in EVENTS_SCHEMA)

#: Quarantine reason codes, in the order they are checked (a row gets the first that applies).
QUARANTINE_REASONS = (
    "wrong_column_count",
    "unparseable_time",
    "time_outside_partition",
    "unknown_event_type",
    "non_integer_id",
    "missing_price",
    "negative_price",
    "missing_user_id",
    "missing_user_session",
)
