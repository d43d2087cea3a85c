"""The dashboard's input as Parquet, so that drawing the page needs no warehouse lock.

DuckDB lets one process hold its file: a report that opened it while another run loads or
builds marts would be refused (or, in the pool, would hold up that run). So the tasks that hold
the ``shopflow_warehouse`` slot anyway (``record_marts`` after a daily run's dbt build,
``publish`` after training) copy what the dashboard of their date reads into
``$SHOPFLOW_HOME/reports/export/as_of=D/``, and the DAGs' ``report`` task reads that copy
outside the pool, the way training reads the lake (:mod:`shopflow.lake_reader`).

The copy is small at any size: the as-of marts with one snapshot per date (top items, RFM) give
only date D's rows; the others hold a few rows per date and go whole. On BigQuery nothing is
copied (readers never block writers) and the report reads the warehouse.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
from pathlib import Path

from shopflow.config import Settings, get_settings
from shopflow.dates import as_date

log = logging.getLogger(__name__)

#: Tables of the dashboard that hold a full snapshot per as-of date: only date D's is copied.
PER_SNAPSHOT = {"mart_top_items": "as_of_date", "mart_rfm": "as_of_date"}
#: Exports kept; older ones are removed when a new one is written (a daily run and the training
#: that follows read theirs within minutes).
KEEP = 8
_DONE = "_SUCCESS"


def export_dir(settings: Settings, day: dt.date | str) -> Path:
    return settings.reports / "export" / f"as_of={as_date(day)}"


def export(wh, day: dt.date | str, settings: Settings | None = None) -> Path | None:
    """Copy what the dashboard of ``day`` reads from the open DuckDB warehouse ``wh`` (whose
    slot the caller holds) to Parquet; return the folder, or None on BigQuery. A rerun replaces it."""
    from shopflow.report.data import TABLES

    settings = settings or get_settings()
    if wh.backend != "duckdb":
        return None
    day = as_date(day)
    target = export_dir(settings, day)
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    for name in TABLES:
        if not wh.table_exists(name):
            continue
        column = PER_SNAPSHOT.get(name)
        where = f" where {column} = @day" if column else ""
        wh.to_parquet(f"select * from {name}{where}", partial / f"{name}.parquet", {"day": day})
    (partial / _DONE).touch()
    # Swap the folders: a reader sees the old export or the new one, never half of one.
    old = target.with_name(target.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    partial.rename(target)
    shutil.rmtree(old, ignore_errors=True)
    _prune(target.parent)
    log.info("dashboard input of %s exported to %s", day, target)
    return target


def _prune(folder: Path) -> None:
    done = [p for p in folder.glob("as_of=*") if (p / _DONE).exists()]
    for stale in sorted(done, key=lambda p: p.stat().st_mtime)[:-KEEP]:
        shutil.rmtree(stale, ignore_errors=True)


def reader(day: dt.date | str, settings: Settings | None = None):
    """An in-memory warehouse (same ``query`` interface) over the export of ``day``, or None
    when there is none (BigQuery, or marts built before any export)."""
    from shopflow.warehouse.duckdb import DuckDBWarehouse

    settings = settings or get_settings()
    folder = export_dir(settings, day)
    if settings.warehouse != "duckdb" or not (folder / _DONE).exists():
        return None
    wh = DuckDBWarehouse(settings, path=":memory:")
    for path in sorted(folder.glob("*.parquet")):
        wh.view_parquet(path.stem, path)
    wh.source = f"DuckDB {settings.duckdb_path} (exported for {as_date(day)})"
    return wh
