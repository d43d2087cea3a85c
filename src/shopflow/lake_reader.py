"""Reads that need no warehouse lock: the ``events`` of the lake's Parquet, for training.

DuckDB lets one process hold its file, and a reader in another process is refused while a
load or marts build writes. The lake holds the same rows as the warehouse's ``events`` (a
load copies lake partition D into the warehouse), as Parquet that any number of readers can
scan. So training reads there, outside the ``shopflow_warehouse`` pool, and never waits for
or blocks a writer. On BigQuery readers never block writers: the warehouse itself is read,
as it is when the lake has no events at all.
"""

from __future__ import annotations

from shopflow.config import Settings, get_settings, join


def events_reader(settings: Settings | None = None):
    """A warehouse (same ``query`` interface) whose ``events`` table is the lake's Parquet."""
    from shopflow.schema import EVENTS_SCHEMA
    from shopflow.warehouse import get_warehouse
    from shopflow.warehouse.duckdb import _DUCKDB_TYPES, DuckDBWarehouse

    settings = settings or get_settings()
    if settings.warehouse != "duckdb":
        return get_warehouse(settings)
    wh = DuckDBWarehouse(settings, path=":memory:")
    pattern = join(settings.lake, "events", "event_date=*", "*.parquet")
    files = sorted(row[0] for row in wh._con.execute("select file from glob($p)", {"p": pattern}).fetchall())
    if not files:
        # A warehouse whose events did not come through this lake (a restored file, a test
        # fixture): read it directly.
        wh.close()
        return get_warehouse(settings)
    columns = ", ".join(f"cast({c} as {_DUCKDB_TYPES[k]}) as {c}" for c, k in EVENTS_SCHEMA)
    listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
    wh._con.execute(f"create view events as select {columns} from read_parquet([{listed}], hive_partitioning = false)")
    return wh
