"""Run dates: the one parser and the one inclusive range used by the CLI, the DAG tasks, the
cleaning job, the warehouse and the models."""

from __future__ import annotations

import datetime as dt
from typing import Any


def as_date(value: Any) -> dt.date:
    """A date from a date, a datetime, ``'YYYY-MM-DD'`` or an ISO timestamp such as Airflow's
    ``'2019-11-01T00:00:00+00:00'`` (its date part); anything else is a ValueError."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        pass
    try:
        return dt.datetime.fromisoformat(text).date()
    except ValueError:
        raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def date_range(start: Any, end: Any) -> list[dt.date]:
    """Every date from ``start`` to ``end``, both included."""
    first, last = as_date(start), as_date(end)
    if last < first:
        raise ValueError(f"date range ends ({last}) before it starts ({first})")
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
