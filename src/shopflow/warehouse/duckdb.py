"""The embedded warehouse: one DuckDB file (SHOPFLOW_DUCKDB_PATH, default SHOPFLOW_HOME/warehouse.duckdb).

SQL arrives in BigQuery's dialect and goes through :func:`shopflow.warehouse.dialect.to_duckdb`;
``@name`` parameters are bound as DuckDB ``$name`` parameters. Every write is one transaction:
a failed load or write leaves the previous contents in place (the marts are dbt's: sql/).

DuckDB allows one writing process per file: run loads and marts one at a time (the Airflow DAGs
serialise them with a pool).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import logging
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

import numpy as np
import pandas as pd

from shopflow.config import Settings, is_remote, validate_identifier
from shopflow.clean import partition_path
from shopflow.dates import as_date
from shopflow.schema import EVENTS_SCHEMA
from shopflow.warehouse.base import Warehouse
from shopflow.warehouse.manifest import (
    MANIFEST_QUARANTINE_SCHEMA,
    MANIFESTS_SCHEMA,
    LoadError,
    check_slice,
    manifest_frames,
    read_manifest,
)
from shopflow.warehouse.dialect import parameters, to_duckdb

log = logging.getLogger(__name__)

#: BigQuery type -> DuckDB type for the tables this backend creates itself.
_DUCKDB_TYPES = {
    "TIMESTAMP": "TIMESTAMP WITH TIME ZONE",
    "DATE": "DATE",
    "INT64": "BIGINT",
    "STRING": "VARCHAR",
    "FLOAT64": "DOUBLE",
}
#: Parquet column types (as DuckDB reports them) accepted for each events column type.
_ACCEPTED_LAKE_TYPES = {
    "TIMESTAMP": ("TIMESTAMP WITH TIME ZONE", "TIMESTAMP"),
    "DATE": ("DATE",),
    "INT64": ("BIGINT", "INTEGER", "SMALLINT", "TINYINT"),
    "STRING": ("VARCHAR",),
    "FLOAT64": ("DOUBLE", "FLOAT"),
}


def _ddl(name: str, schema) -> str:
    columns = ", ".join(f"{col} {_DUCKDB_TYPES[kind]}" for col, kind in schema)
    return f"create table if not exists {name} ({columns})"


@functools.lru_cache(maxsize=256)
def _translate(sql: str) -> tuple[str, tuple[str, ...]]:
    return to_duckdb(sql), tuple(parameters(sql))


def _bind_value(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.generic):
        return value.item()
    return value


class DuckDBWarehouse(Warehouse):
    backend = "duckdb"

    def __init__(self, settings: Settings, path: str | Path | None = None):
        import duckdb

        self.settings = settings
        self.path = Path(path or settings.duckdb_path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._con = duckdb.connect(str(self.path))
        except duckdb.IOException as exc:
            raise RuntimeError(
                f"cannot open the DuckDB warehouse {self.path}: {exc}. DuckDB allows one writing "
                "process per file; wait for the other load or marts run to finish."
            ) from exc
        # EXTRACT(HOUR ...) on TIMESTAMP WITH TIME ZONE follows this setting; BigQuery means UTC.
        self._con.execute("set TimeZone = 'UTC'")
        # Tables here have no meaningful row order (every read orders explicitly); letting
        # DuckDB write in parallel halves the time of a large CREATE TABLE AS.
        self._con.execute("set preserve_insertion_order = false")
        # DuckDB's own default is 80% of the machine's memory; a bound makes it spill instead.
        self._con.execute(f"set memory_limit = '{settings.duckdb_memory_limit}'")

    # ---------------------------------------------------------------- plumbing

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    def _execute(self, sql: str, params: Mapping[str, Any] | None = None):
        """Run BigQuery SQL on DuckDB with ``@name`` parameters bound by name."""
        duck_sql, names = _translate(sql)
        return self._con.execute(duck_sql, self._bind(names, params or {}))

    @staticmethod
    def _bind(names: tuple[str, ...], params: Mapping[str, Any]) -> dict[str, Any]:
        missing = [n for n in names if n not in params]
        if missing:
            raise ValueError(f"the SQL needs parameters {', '.join('@' + n for n in missing)}")
        # DuckDB rejects parameters a statement does not use, so pass only the used ones.
        return {n: _bind_value(params[n]) for n in names}

    @contextlib.contextmanager
    def _transaction(self):
        self._con.begin()
        try:
            yield
        except BaseException:
            self._con.rollback()
            raise
        self._con.commit()

    # ---------------------------------------------------------------- interface

    def load_events_partition(self, event_date, lake: str) -> int:
        day = as_date(event_date)
        if is_remote(lake):
            raise LoadError(
                f"the DuckDB warehouse loads from a local lake, not {lake}; "
                "set SHOPFLOW_WAREHOUSE=bigquery for a gs:// lake"
            )
        manifest = read_manifest(lake, day)
        folder = Path(partition_path(lake, day))
        files = sorted(str(p) for p in folder.glob("*.parquet")) if folder.is_dir() else []
        if not files and manifest["rows_valid"] > 0:
            raise LoadError(
                f"no Parquet files in {folder}, but the manifest for {day} counts "
                f"{manifest['rows_valid']} valid rows"
            )
        if files:
            self._check_lake_files(files, day)
        with self._transaction():
            self._con.execute(_ddl("events", EVENTS_SCHEMA))
            self._con.execute(_ddl("manifests", MANIFESTS_SCHEMA))
            self._con.execute(_ddl("manifest_quarantine", MANIFEST_QUARANTINE_SCHEMA))
            self._con.execute("delete from events where event_date = $d", {"d": day})
            if files:
                columns = ", ".join(f"cast({c} as {_DUCKDB_TYPES[k]}) as {c}" for c, k in EVENTS_SCHEMA)
                self._con.execute(
                    f"insert into events select {columns} "
                    "from read_parquet($files, hive_partitioning = false)",
                    {"files": files},
                )
            rows = self._con.execute("select count(*) from events where event_date = $d", {"d": day}).fetchall()[0][0]
            manifests, quarantine = manifest_frames(manifest, rows)
            for name, frame in (("manifests", manifests), ("manifest_quarantine", quarantine)):
                self._con.execute(f"delete from {name} where event_date = $d", {"d": day})
                self._insert_frame(name, frame)
        if rows != manifest["rows_valid"]:
            log.warning("%s: loaded %d rows, the manifest counts %d valid rows", day, rows, manifest["rows_valid"])
        return int(rows)

    def _check_lake_files(self, files: list[str], day: dt.date) -> None:
        described = self._con.execute(
            "select column_name, column_type from "
            "(describe select * from read_parquet($files, hive_partitioning = false))",
            {"files": files},
        ).fetchall()
        found = {name: kind for name, kind in described}
        expected = dict(EVENTS_SCHEMA)
        missing = [c for c in expected if c not in found]
        extra = [c for c in found if c not in expected]
        if missing or extra:
            raise LoadError(
                f"lake partition {day} does not have the events columns"
                + (f"; missing {missing}" if missing else "")
                + (f"; unexpected {extra}" if extra else "")
            )
        wrong = [
            f"{c} is {found[c]}, expected {kind}"
            for c, kind in EVENTS_SCHEMA
            if found[c] not in _ACCEPTED_LAKE_TYPES[kind]
        ]
        if wrong:
            raise LoadError(f"lake partition {day} has wrong column types: {'; '.join(wrong)}")
        outside = self._con.execute(
            "select count(*) from read_parquet($files, hive_partitioning = false) "
            "where event_date is distinct from $d",
            {"files": files, "d": day},
        ).fetchall()[0][0]
        if outside:
            raise LoadError(f"lake partition {day} holds {outside} rows whose event_date is not {day}")

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        return self._frame(self._execute(sql, params))

    def read_table(self, name: str) -> pd.DataFrame:
        validate_identifier(name, "table name")
        return self._frame(self._con.execute(f"select * from {name}"))

    def query_batches(self, sql: str, params: Mapping[str, Any] | None = None,
                      batch_rows: int = 100_000) -> Iterator[pd.DataFrame]:
        # A cursor of its own: the stream stays open while this connection writes batches.
        duck_sql, names = _translate(sql)
        cursor = self._con.cursor()
        try:
            cursor.execute("set TimeZone = 'UTC'")
            reader = cursor.sql(duck_sql, params=self._bind(names, params or {})).to_arrow_reader(batch_rows)
            for batch in reader:
                yield batch.to_pandas()
        finally:
            cursor.close()

    def to_parquet(self, sql: str, path: str | Path, params: Mapping[str, Any] | None = None) -> None:
        """Write the rows of a BigQuery-dialect SELECT to one Parquet file (streamed by DuckDB)."""
        duck_sql, names = _translate(sql)
        relation = self._con.sql(duck_sql, params=self._bind(names, params or {}))
        # Parquet has no 128-bit integer (DuckDB would write HUGEINT sums as DOUBLE): narrow
        # them to BIGINT, as _frame does (an overflow then fails loudly).
        columns = [f'cast("{c}" as bigint) as "{c}"' if str(t) == "HUGEINT" else f'"{c}"'
                   for c, t in zip(relation.columns, relation.types)]
        relation.project(", ".join(columns)).write_parquet(str(path))

    def view_parquet(self, name: str, path: str | Path) -> None:
        """Make table name ``name`` a view over one Parquet file (a reader's own connection)."""
        validate_identifier(name, "table name")
        quoted = str(path).replace("'", "''")
        self._con.execute(f"create or replace view {name} as select * from read_parquet('{quoted}', hive_partitioning = false)")

    def write_batches(self, name: str, frames: Iterable[pd.DataFrame],
                      replace_where: Mapping[str, Any] | None = None) -> int:
        validate_identifier(name, "table name")
        written, first = 0, True
        with self._transaction():
            for frame in frames:
                if replace_where:
                    check_slice(frame, replace_where, name)
                self._con.register("_shopflow_frame", frame)
                try:
                    if first and not replace_where:
                        self._con.execute(f"create or replace table {name} as select * from _shopflow_frame")
                    else:
                        if first:
                            self._con.execute(
                                f"create table if not exists {name} as select * from _shopflow_frame limit 0")
                            self._delete_where(name, replace_where)
                        self._con.execute(f"insert into {name} by name select * from _shopflow_frame")
                finally:
                    self._con.unregister("_shopflow_frame")
                first = False
                written += len(frame)
            if first and replace_where and self.table_exists(name):
                self._delete_where(name, replace_where)  # no batch at all: the slice is now empty
        return written

    def _delete_where(self, name: str, replace_where: Mapping[str, Any]) -> None:
        where = " and ".join(f"{validate_identifier(col, 'column name')} = $w{i}"
                             for i, col in enumerate(replace_where))
        values = {f"w{i}": _bind_value(v) for i, v in enumerate(replace_where.values())}
        self._con.execute(f"delete from {name} where {where}", values)

    @staticmethod
    def _frame(result) -> pd.DataFrame:
        # DuckDB sums BIGINT into HUGEINT, which pandas receives as float64; BigQuery's SUM of
        # INT64 is INT64, so integer sums come back as integers here too.
        huge = [col[0] for col in result.description if str(col[1]) == "HUGEINT"]
        frame = result.df()
        for name in huge:
            series = frame[name]
            frame[name] = series.astype("Int64") if series.isna().any() else series.astype("int64")
        return frame

    def write_table(self, name: str, frame: pd.DataFrame, replace_where: Mapping[str, Any] | None = None) -> int:
        validate_identifier(name, "table name")
        if replace_where:
            check_slice(frame, replace_where, name)
        self._con.register("_shopflow_frame", frame)
        try:
            with self._transaction():
                if not replace_where:
                    self._con.execute(f"create or replace table {name} as select * from _shopflow_frame")
                else:
                    self._con.execute(f"create table if not exists {name} as select * from _shopflow_frame limit 0")
                    self._delete_where(name, replace_where)
                    self._con.execute(f"insert into {name} by name select * from _shopflow_frame")
        finally:
            self._con.unregister("_shopflow_frame")
        return len(frame)

    def _insert_frame(self, name: str, frame: pd.DataFrame) -> None:
        self._con.register("_shopflow_frame", frame)
        try:
            self._con.execute(f"insert into {name} by name select * from _shopflow_frame")
        finally:
            self._con.unregister("_shopflow_frame")

    def table_exists(self, name: str) -> bool:
        validate_identifier(name, "table name")
        found = self._con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = current_schema() and table_name = $n",
            {"n": name},
        ).fetchall()[0][0]
        return bool(found)
