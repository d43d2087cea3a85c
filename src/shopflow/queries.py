"""Named queries: the SQL the Python code runs, one file each under ``sql/queries/``.

The marts are dbt models (``sql/models``). What reads events or the marts at run time with
run-time parameters (training's inputs, publish, serving, the dashboard, the demo's summary,
the marts' bookkeeping) is a query: written once, in BigQuery Standard SQL with ``@name``
parameters, in ``sql/queries/<area>/<name>.sql``, and run with ``wh.query(query_sql(name), params)``
(the DuckDB backend translates it with :func:`shopflow.warehouse.dialect.to_duckdb`). No SQL
statement lives in a Python string outside the warehouse backends (tests/unit/test_queries.py).
"""

from __future__ import annotations

import functools
import re

from shopflow.runtime import REPO_ROOT

QUERY_ROOT = REPO_ROOT / "sql" / "queries"
_NAME = re.compile(r"^[a-z_]+/[a-z_]+$")


class UnknownQueryError(LookupError):
    """No file sql/queries/<name>.sql (a broken checkout or a typo in the code)."""


@functools.cache
def query_sql(name: str) -> str:
    """The text of ``sql/queries/<name>.sql`` (``name`` is ``area/query``)."""
    path = QUERY_ROOT / f"{name}.sql"
    if not _NAME.match(name) or not path.is_file():
        raise UnknownQueryError(f"no named query {name!r}: expected sql/queries/{name}.sql")
    return path.read_text()


def names() -> list[str]:
    """Every named query, as ``area/query``."""
    return sorted(f"{p.parent.name}/{p.stem}" for p in QUERY_ROOT.glob("*/*.sql"))
