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

from shopflow.queries import query_sql

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
        data.daily = _dates(wh.query(query_sql("report/daily"), p), "event_date")
    if "mart_hourly_activity" in present:
        data.hourly = wh.query(query_sql("report/hourly"), p)
        days = wh.query(query_sql("report/days_per_weekday"), p)
        data.days_per_weekday = {int(r.event_weekday): int(r.n_days) for r in days.itertuples()}
    if "mart_top_items" in present:
        data.top_items = _dates(wh.query(query_sql("report/top_items"), p), "as_of_date", "window_start_date")
    if "mart_rfm" in present:
        overview = wh.query(query_sql("report/rfm_overview"), p)
        data.rfm_overview = overview.iloc[0].to_dict() if len(overview) else {}
        if int(data.rfm_overview.get("n_customers") or 0) > 0:
            data.rfm_scores = wh.query(query_sql("report/rfm_scores"), p)
            data.rfm_quartiles = wh.query(query_sql("report/rfm_quartiles"), p)
            data.rfm_segments = wh.query(query_sql("report/rfm_segments"), p)
    if "manifests" in present:
        data.manifests = _dates(wh.query(query_sql("report/manifests"), p), "event_date")
    if "manifest_quarantine" in present:
        data.quarantine = _dates(wh.query(query_sql("report/quarantine"), p), "event_date")
    if "dq_results" in present:
        data.checks = _dates(wh.query(query_sql("report/checks"), p), "run_date")
    return data


def _period(wh, present: set[str], as_of: dt.date | None, data: DashboardData) -> Period | None:
    """The snapshot to show: ``as_of`` if given, else the latest one the marts hold."""
    if "mart_period_summary" in present:
        if as_of is None:
            latest = wh.query(query_sql("report/latest_as_of"))
            as_of = _as_date(latest["as_of_date"].iloc[0]) if len(latest) else None
            if as_of is None:
                data.notes.append("mart_period_summary has no snapshot yet: run `shopflow marts --date D`.")
                return None
        summary = _dates(wh.query(query_sql("report/summary"), {"as_of": as_of}), "as_of_date", "window_start_date")
        data.summary = summary
        if len(summary):
            first = summary.iloc[0]
            return Period(as_of=as_of, start=first["window_start_date"], n_days_loaded=int(first["n_days_loaded"]))
        # No summary row: either the marts were not built for this date or the window had no
        # events at all. Either way the period is empty; the sections say so. The window is taken
        # to be as long as the latest snapshot's, the marts' default if there is none.
        latest = _dates(wh.query(query_sql("report/latest_window")), "as_of_date", "window_start_date")
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
        found = _dates(wh.query(query_sql("report/funnel_range")), "first_date", "last_date")
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
