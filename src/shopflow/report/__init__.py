"""``shopflow report``: the dashboard, one self-contained HTML file from the marts and MLflow.

:func:`build_report` writes ``$SHOPFLOW_HOME/reports/dashboard.html`` (the daily DAG's last task
calls it). It is served in one place: the Airflow API server, through the plugin
``plugins/shopflow_plugin.py`` at ``/shopflow/dashboard`` (``make dashboard`` writes the file and
starts Airflow if needed); the file also opens offline as it is.

The page shows one period: the trailing window of the as-of marts ending on ``--as-of`` (default:
the latest snapshot built). Sections: 1 headline figures (both scopes), 2 funnel, 3 daily trend,
4 hour x weekday heatmaps, 5 top items, 6 RFM, 7 recommenders (MLflow), 8 data quality.

Nothing heavy is imported here at module level: DAG files import this module to reference
``build_report``, and plotly, pandas, mlflow and the warehouse clients load only when it runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

FILENAME = "dashboard.html"

__all__ = ["build_report", "render_report", "serve", "add_arguments", "run"]


def default_path(settings=None) -> Path:
    from shopflow.config import get_settings

    return (settings or get_settings()).reports / FILENAME


def _source(settings) -> str:
    if settings.warehouse == "bigquery":
        return f"BigQuery {settings.bq_project or '(default project)'}.{settings.bq_dataset}"
    return f"DuckDB {settings.duckdb_path}"


def _read_warehouse(settings, as_of, scope, warehouse):
    from shopflow.report import data as report_data

    if warehouse is not None:
        source = getattr(warehouse, "source", None) or f"{warehouse.backend} warehouse"
        return report_data.load(warehouse, as_of, scope, source=source)
    source = _source(settings)
    if settings.warehouse == "duckdb" and not Path(settings.duckdb_path).exists():
        # Opening a missing DuckDB file would create an empty warehouse as a side effect.
        empty = report_data.DashboardData(source=source, scope=scope)
        empty.notes.append(f"No warehouse at {settings.duckdb_path} yet: run `shopflow load` and "
                           "`shopflow marts` (or the shopflow_daily DAG) first.")
        return empty
    from shopflow.warehouse import get_warehouse

    with get_warehouse(settings) as wh:
        return report_data.load(wh, as_of, scope, source=source)


def render_report(settings=None, *, as_of: dt.date | None = None, scope: str = "all", warehouse=None,
                  mlflow_client=None, generated_at: dt.datetime | None = None) -> str:
    """The dashboard as an HTML string (see :func:`build_report`)."""
    from shopflow.config import get_settings
    from shopflow.report import models
    from shopflow.report.page import render_page
    from shopflow.report.sections import SCOPE_LABELS, build_sections

    settings = settings or get_settings()
    data = _read_warehouse(settings, as_of, scope, warehouse)
    tracking = models.load(settings, client=mlflow_client)
    period = data.period
    meta = [
        ("period", "—" if period is None else f"{period.start} to {period.as_of} ({period.window_days} days)"),
        ("scope of sections 2–5", SCOPE_LABELS[scope]),
        ("warehouse", data.source),
        ("MLflow", tracking.uri),
    ]
    return render_page(title="shopflow dashboard", meta=meta, sections=build_sections(data, tracking),
                       notes=data.notes, generated_at=generated_at)


def build_report(settings=None, *, out: str | os.PathLike | None = None, as_of: dt.date | str | None = None,
                 scope: str = "all", warehouse=None, mlflow_client=None) -> Path:
    """Write the dashboard and return its path (default ``$SHOPFLOW_HOME/reports/dashboard.html``).

    ``as_of`` picks the snapshot of the as-of marts (default: the latest); ``scope`` ('all' or
    'reference_filter') is the scope of sections 2 to 5 (the headline shows both). The file is
    replaced atomically, so a reader never sees half a page and a rerun simply replaces it.
    """
    from shopflow.config import get_settings
    from shopflow.dates import as_date

    settings = settings or get_settings()
    html = render_report(settings, as_of=None if as_of is None else as_date(as_of), scope=scope,
                         warehouse=warehouse, mlflow_client=mlflow_client)
    path = Path(out) if out else default_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(html)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    log.info("dashboard written to %s (%.1f MB)", path, path.stat().st_size / 1e6)
    return path


# ------------------------------------------------------------------------------ the command


def _date_argument(text: str) -> dt.date:
    from shopflow.dates import as_date

    try:
        return as_date(text)
    except ValueError as exc:  # argparse would only say "invalid value"
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", help=f"output file (default: $SHOPFLOW_HOME/reports/{FILENAME})")
    parser.add_argument("--as-of", type=_date_argument, dest="as_of",
                        help="last date of the period: a run date the marts were built for (default: the latest)")
    parser.add_argument("--scope", choices=("all", "reference_filter"), default="all",
                        help="scope of the funnel, trend, heatmap and top-item sections (default: all)")


def run(args: argparse.Namespace) -> int:
    from shopflow.report.data import ReportError

    try:
        path = build_report(out=args.out, as_of=args.as_of, scope=args.scope)
    except (ReportError, RuntimeError) as exc:
        print(f"shopflow report: {exc}", file=sys.stderr)
        return 1
    print(f"dashboard written to {path}")
    return 0
