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


def describe(days) -> str:
    """Dates as short text, runs of consecutive dates as ``first..last``:
    ``2019-10-02..2019-10-30, 2019-11-04``."""
    parts: list[str] = []
    ordered = sorted({as_date(d) for d in days})
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and (ordered[j + 1] - ordered[j]).days == 1:
            j += 1
        parts.append(str(ordered[i]) if i == j else f"{ordered[i]}..{ordered[j]}")
        i = j + 1
    return ", ".join(parts)
