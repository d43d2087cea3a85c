"""The warehouse interface. Two backends implement it: DuckDB (default) and BigQuery.

SQL handed to a warehouse is BigQuery Standard SQL; named parameters are written ``@name``
and passed as a dict, the same way on both backends.
"""

from __future__ import annotations

import abc
import datetime as dt
from typing import Any, Iterable, Iterator, Mapping

import pandas as pd


class DataQualityError(RuntimeError):
    """A data-quality check found violations; the message names the check and the date."""


class Warehouse(abc.ABC):
    """Operations the pipeline needs from a warehouse."""

    backend: str = "?"

    @abc.abstractmethod
    def load_events_partition(self, event_date: dt.date, lake: str) -> int:
        """Replace the ``events`` partition for ``event_date`` from the lake; return rows loaded.

        Also records the partition's manifest (lake/manifests/D.json) in the ``manifests`` table.
        """

    @abc.abstractmethod
    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """Run a BigQuery-dialect SELECT and return its rows."""

    @abc.abstractmethod
    def read_table(self, name: str) -> pd.DataFrame:
        """Return a whole table (``name`` is validated as an identifier)."""

    @abc.abstractmethod
    def write_table(self, name: str, frame: pd.DataFrame, replace_where: Mapping[str, Any] | None = None) -> int:
        """Write ``frame`` to table ``name``.

        Without ``replace_where`` the table is replaced; with it (e.g. ``{"run_date": d}``) only
        the rows matching those column values are replaced, atomically. Returns rows written.
        """

    @abc.abstractmethod
    def query_batches(self, sql: str, params: Mapping[str, Any] | None = None,
                      batch_rows: int = 100_000) -> Iterator[pd.DataFrame]:
        """Run a BigQuery-dialect SELECT and yield its rows as frames of at most ``batch_rows``
        (Arrow record batches underneath), so a large result is never held whole."""

    @abc.abstractmethod
    def write_batches(self, name: str, frames: Iterable[pd.DataFrame],
                      replace_where: Mapping[str, Any] | None = None) -> int:
        """Write the frames of an iterable to table ``name`` as one atomic replacement (of the
        table, or of the rows matching ``replace_where``), holding one frame at a time. Returns rows
        written. An empty iterable leaves the slice empty."""

    @abc.abstractmethod
    def table_exists(self, name: str) -> bool:
        """Whether table ``name`` exists."""

    def close(self) -> None:  # pragma: no cover - backends override when they hold resources
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
