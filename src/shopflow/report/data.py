"""What the dashboard reads from the warehouse: the marts of one period, nothing else.

The period is one snapshot of the as-of marts (``mart_period_summary``, ``mart_top_items``,
``mart_rfm``): the trailing window ending on ``as_of_date``, by default the latest snapshot. The
history marts (daily funnel, hourly activity) and the data-quality tables are cut to the same
window, so every section describes the same days.

Every query is BigQuery Standard SQL through :meth:`Warehouse.query`, so the report reads DuckDB
and BigQuery alike. Aggregation happens in SQL (``mart_rfm`` holds one row per customer per
snapshot); only small frames come back. A mart that is not built yet is recorded in
``DashboardData.missing`` and its sections say so instead of failing.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

log = logging.getLogger(__name__)

SCOPES = ("all", "reference_filter")
#: The trailing window marts.DEFAULT_WINDOW_DAYS uses; only needed when no snapshot says otherwise.
DEFAULT_WINDOW_DAYS = 30

TABLES = (
    "mart_period_summary",
    "mart_daily_funnel",
    "mart_hourly_activity",
    "mart_top_items",
    "mart_rfm",
    "manifests",
    "manifest_quarantine",
    "dq_results",
)


class ReportError(RuntimeError):
    """The report cannot be built as asked (e.g. a snapshot date the marts do not have)."""


@dataclass
class Period:
    as_of: dt.date
    start: dt.date
    n_days_loaded: int | None = None

    @property
    def window_days(self) -> int:
        return (self.as_of - self.start).days + 1


@dataclass
class DashboardData:
    """The frames every section draws from; empty frames where there is nothing."""

    source: str
    scope: str = "all"
    period: Period | None = None
    missing: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)
    summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    daily: pd.DataFrame = field(default_factory=pd.DataFrame)
    hourly: pd.DataFrame = field(default_factory=pd.DataFrame)
    days_per_weekday: dict[int, int] = field(default_factory=dict)
    top_items: pd.DataFrame = field(default_factory=pd.DataFrame)
    rfm_overview: dict[str, Any] = field(default_factory=dict)
    rfm_scores: pd.DataFrame = field(default_factory=pd.DataFrame)
    rfm_quartiles: pd.DataFrame = field(default_factory=pd.DataFrame)
    rfm_segments: pd.DataFrame = field(default_factory=pd.DataFrame)
    manifests: pd.DataFrame = field(default_factory=pd.DataFrame)
    quarantine: pd.DataFrame = field(default_factory=pd.DataFrame)
    checks: pd.DataFrame = field(default_factory=pd.DataFrame)

    def summary_row(self, scope: str) -> dict[str, Any] | None:
        if self.summary.empty:
            return None
        rows = self.summary[self.summary["scope"] == scope]
        return None if rows.empty else rows.iloc[0].to_dict()


def _as_date(value: Any) -> dt.date | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return pd.Timestamp(value).date()


def _dates(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """DuckDB hands DATE columns over as datetime64; the report works with datetime.date."""
    for col in columns:
        if col in frame.columns:
            frame[col] = [_as_date(v) for v in frame[col]]
    return frame


# ------------------------------------------------------------------------------ queries

_LATEST_AS_OF = "select max(as_of_date) as as_of_date from mart_period_summary"
_SUMMARY = "select * from mart_period_summary where as_of_date = @as_of order by scope"
_LATEST_WINDOW = """
select as_of_date, window_start_date
from mart_period_summary
order by as_of_date desc
limit 1
"""
_FUNNEL_RANGE = "select min(event_date) as first_date, max(event_date) as last_date from mart_daily_funnel"
_DAILY = """
select *
from mart_daily_funnel
where event_date between @start_date and @as_of
order by scope, event_date
"""
_HOURLY = """
select event_weekday, event_hour, event_type, sum(n_events) as n_events
from mart_hourly_activity
where scope = @scope and event_date between @start_date and @as_of
group by event_weekday, event_hour, event_type
"""
# Loaded dates per weekday: a month holds some weekdays four times and others five.
_DAYS_PER_WEEKDAY = """
select event_weekday, count(distinct event_date) as n_days
from mart_hourly_activity
where scope = 'all' and event_date between @start_date and @as_of
group by event_weekday
"""
_TOP_ITEMS = """
select *
from mart_top_items
where as_of_date = @as_of and scope = @scope
order by dimension, event_type, item_rank
"""
_RFM_OVERVIEW = """
select
    count(*) as n_customers,
    max(frequency_p25) as frequency_p25,
    max(frequency_median) as frequency_median,
    max(frequency_p75) as frequency_p75,
    min(frequency) as min_frequency,
    max(frequency) as max_frequency,
    sum(monetary) as monetary
from mart_rfm
where as_of_date = @as_of
"""
#: Customers per score, for R, F and M under both binning methods.
_RFM_SCORES = "\nunion all\n".join(
    f"select '{dim}' as rfm_dimension, '{method}' as method, {dim.lower()}_score_{method} as score, "
    f"count(*) as n_customers\nfrom mart_rfm where as_of_date = @as_of group by {dim.lower()}_score_{method}"
    for method in ("equal_width", "quintile")
    for dim in "RFM"
) + "\norder by method, rfm_dimension, score"
_RFM_QUARTILES = """
select
    frequency_quartile,
    count(*) as n_customers,
    min(frequency) as min_frequency,
    max(frequency) as max_frequency
from mart_rfm
where as_of_date = @as_of
group by frequency_quartile
order by frequency_quartile
"""
_RFM_SEGMENTS = """
select
    segment,
    count(*) as n_customers,
    sum(monetary) as monetary,
    avg(recency_days) as avg_recency_days,
    avg(frequency) as avg_frequency
from mart_rfm
where as_of_date = @as_of
group by segment
"""
_MANIFESTS = """
select event_date, rows_in, rows_valid, duplicates_dropped, rows_quarantined, rows_loaded
from manifests
where event_date between @start_date and @as_of
order by event_date
"""
_QUARANTINE = """
select event_date, reason, n_rows
from manifest_quarantine
where event_date between @start_date and @as_of
order by event_date, reason
"""
_CHECKS = """
select run_date, check_name, description, n_violations, status, details
from dq_results
where run_date between @start_date and @as_of
order by run_date, check_name
"""


def load(wh, as_of: dt.date | None = None, scope: str = "all", source: str = "") -> DashboardData:
    """Read every mart the dashboard shows for the period ending on ``as_of`` (default: latest)."""
    if scope not in SCOPES:
        raise ReportError(f"scope must be one of {', '.join(SCOPES)}, not {scope!r}")
    data = DashboardData(source=source, scope=scope)
    present = {name for name in TABLES if wh.table_exists(name)}
    data.missing = set(TABLES) - present
    data.period = _period(wh, present, as_of, data)
    if data.period is None or data.period.n_days_loaded == 0:
        # No snapshot for this date: the history marts may hold other days of the window, but
        # showing them under an empty headline would mix two periods.
        return data
    p = {"as_of": data.period.as_of, "start_date": data.period.start, "scope": scope}

    if "mart_daily_funnel" in present:
        data.daily = _dates(wh.query(_DAILY, p), "event_date")
    if "mart_hourly_activity" in present:
        data.hourly = wh.query(_HOURLY, p)
        days = wh.query(_DAYS_PER_WEEKDAY, p)
        data.days_per_weekday = {int(r.event_weekday): int(r.n_days) for r in days.itertuples()}
    if "mart_top_items" in present:
        data.top_items = _dates(wh.query(_TOP_ITEMS, p), "as_of_date", "window_start_date")
    if "mart_rfm" in present:
        overview = wh.query(_RFM_OVERVIEW, p)
        data.rfm_overview = overview.iloc[0].to_dict() if len(overview) else {}
        if int(data.rfm_overview.get("n_customers") or 0) > 0:
            data.rfm_scores = wh.query(_RFM_SCORES, p)
            data.rfm_quartiles = wh.query(_RFM_QUARTILES, p)
            data.rfm_segments = wh.query(_RFM_SEGMENTS, p)
    if "manifests" in present:
        data.manifests = _dates(wh.query(_MANIFESTS, p), "event_date")
    if "manifest_quarantine" in present:
        data.quarantine = _dates(wh.query(_QUARANTINE, p), "event_date")
    if "dq_results" in present:
        data.checks = _dates(wh.query(_CHECKS, p), "run_date")
    return data


def _period(wh, present: set[str], as_of: dt.date | None, data: DashboardData) -> Period | None:
    """The snapshot to show: ``as_of`` if given, else the latest one the marts hold."""
    if "mart_period_summary" in present:
        if as_of is None:
            latest = wh.query(_LATEST_AS_OF)
            as_of = _as_date(latest["as_of_date"].iloc[0]) if len(latest) else None
            if as_of is None:
                data.notes.append("mart_period_summary has no snapshot yet: run `shopflow marts --date D`.")
                return None
        summary = _dates(wh.query(_SUMMARY, {"as_of": as_of}), "as_of_date", "window_start_date")
        data.summary = summary
        if len(summary):
            first = summary.iloc[0]
            return Period(as_of=as_of, start=first["window_start_date"], n_days_loaded=int(first["n_days_loaded"]))
        # No summary row: either the marts were not built for this date or the window had no
        # events at all. Either way the period is empty; the sections say so. The window is taken
        # to be as long as the latest snapshot's, the marts' default if there is none.
        latest = _dates(wh.query(_LATEST_WINDOW), "as_of_date", "window_start_date")
        days = DEFAULT_WINDOW_DAYS
        if len(latest):
            days = (latest["as_of_date"].iloc[0] - latest["window_start_date"].iloc[0]).days + 1
        start = as_of - dt.timedelta(days=days - 1)
        data.notes.append(
            f"No headline figures for the {days} days ending {as_of}: the window holds no events, or "
            f"the marts were not built for that date (run `shopflow marts --date {as_of}`)."
        )
        return Period(as_of=as_of, start=start, n_days_loaded=0)
    if "mart_daily_funnel" in present:
        # Without the period summary the history marts still give a period: every loaded date.
        found = _dates(wh.query(_FUNNEL_RANGE), "first_date", "last_date")
        first, last = found["first_date"].iloc[0], found["last_date"].iloc[0]
        if last is None:
            return None
        end = as_of or last
        data.notes.append(
            "mart_period_summary is not built: the period is every loaded date, and distinct users "
            "and sessions of the period are not shown (they cannot be summed from daily rows)."
        )
        return Period(as_of=end, start=min(first, end), n_days_loaded=None)
    data.notes.append("The warehouse has no marts yet: run `shopflow load` and `shopflow marts` for a date first.")
    return None
