"""Named queries (sql/queries, shopflow.queries): every query the code runs is one file, valid
BigQuery that translates for DuckDB, and no SQL statement is left in a Python string outside
the warehouse backends."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from shopflow.queries import QUERY_ROOT, UnknownQueryError, names, query_sql
from shopflow.runtime import REPO_ROOT
from shopflow.warehouse.dialect import parse_bigquery, to_duckdb

SRC = REPO_ROOT / "src" / "shopflow"
#: Modules that implement the warehouse interface (DDL, loads, generic reads): their SQL is
#: the backend itself, not a figure.
BACKENDS = ("warehouse/", "lake_reader.py")
#: Generic statements on a table named at run time (not a figure, so not a named query).
GENERIC = {
    ("marts.py", "select count(*) as n from"),  # rows a model wrote, for the run's summary
    ("report/snapshot.py", "select * from"),  # a mart exported whole to Parquet
}
_SQL = re.compile(r"(?is)\bselect\b.+\bfrom\b|\bdelete\s+from\b|\binsert\s+into\b|\bcreate\s+(or\s+replace\s+)?(table|view)\b")


def _sql_strings(path: Path):
    """String literals (and the literal parts of f-strings) that look like SQL statements; a
    docstring may quote SQL, it is not run."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(owner.body[0].value) for owner in ast.walk(tree)
        if isinstance(owner, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and owner.body and isinstance(owner.body[0], ast.Expr)
    }
    # An f-string's literal parts are Constant nodes too: read them once, through the f-string.
    parts = {id(v) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for v in node.values}
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            text = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and id(node) not in docstrings | parts:
            text = node.value
        else:
            continue
        if _SQL.search(text):
            yield node.lineno, text


def test_no_sql_statement_in_a_python_string_outside_the_backends():
    found = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        if rel.startswith(BACKENDS):
            continue
        for line, text in _sql_strings(path):
            if (rel, text.strip()) not in GENERIC:
                found.append(f"{rel}:{line}: {text.strip()[:60]!r}")
    assert found == [], "move these into sql/queries/<area>/<name>.sql:\n" + "\n".join(found)


def test_the_scan_finds_sql_in_a_string(tmp_path):
    # The guard above would pass on a scan that finds nothing; check it on a planted module.
    planted = tmp_path / "planted.py"
    planted.write_text('"""Reads select a from b in its docstring."""\n'
                       'Q = """\nselect user_id, count(*) as n\nfrom events\ngroup by user_id\n"""\n'
                       'def f(t):\n    return f"delete from {t} where x = 1"\n')
    assert [line for line, _ in _sql_strings(planted)] == [2, 8]


def test_every_query_the_code_names_exists_and_every_file_is_used():
    used = set()
    for path in list(SRC.rglob("*.py")) + list((REPO_ROOT / "tests").rglob("*.py")):
        if path.name == Path(__file__).name:  # this file names missing queries on purpose
            continue
        used |= set(re.findall(r'query_sql\("([^"]+)"\)', path.read_text()))
    assert used - set(names()) == set()
    in_src = set()
    for path in SRC.rglob("*.py"):
        in_src |= set(re.findall(r'query_sql\("([^"]+)"\)', path.read_text()))
    assert set(names()) - in_src == set(), "files under sql/queries that no code runs"


@pytest.mark.parametrize("name", names())
def test_a_named_query_is_one_bigquery_statement_that_translates_for_duckdb(name):
    text = query_sql(name)
    assert text.startswith("-- grain: "), f"sql/queries/{name}.sql: start with a '-- grain:' line"
    if name == "train/events":
        text = text.format(types="'view'")
    parse_bigquery(text)
    assert to_duckdb(text).strip()


def test_an_unknown_query_is_a_one_line_error():
    with pytest.raises(UnknownQueryError, match=r"^no named query 'train/nothing': expected sql/queries/train/nothing\.sql$"):
        query_sql("train/nothing")
    with pytest.raises(UnknownQueryError):
        query_sql("../dbt_project")
    assert QUERY_ROOT == REPO_ROOT / "sql" / "queries"


MANY_ROW_REPORT_QUERIES = [n for n in names()
                           if n.startswith("report/") and query_sql(n).startswith("-- grain: one row per")]


@pytest.mark.parametrize("name", MANY_ROW_REPORT_QUERIES)
def test_a_report_query_of_many_rows_orders_them(name):
    # The report shows these rows and compares the export with the warehouse (test_report_snapshot):
    # rows of a grouping come in hash order, which differs between runs and engines.
    tree = parse_bigquery(query_sql(name))
    assert tree.args.get("order") is not None, f"sql/queries/{name}.sql: many rows and no ORDER BY"
