"""The one place BigQuery SQL is translated for DuckDB: the named queries (sql/queries).

Every query the code runs is BigQuery Standard SQL. DuckDB runs the same text after
:func:`to_duckdb`, which transpiles with sqlglot and then repairs, on the parsed tree, the
translations sqlglot 30 gets wrong:

============================  ==============================  =====================================
BigQuery                      sqlglot's DuckDB output         repaired to
============================  ==============================  =====================================
EXTRACT(DAYOFWEEK FROM d)     EXTRACT(DAYOFWEEK ...) (0=Sun)  EXTRACT(DAYOFWEEK ...) + 1 (1=Sun)
DATE_TRUNC(d, MONTH)          DATE_TRUNC(...) -> TIMESTAMP    CAST(DATE_TRUNC(...) AS DATE)
DATE_ADD / DATE_SUB(d, ...)   d +/- INTERVAL -> TIMESTAMP     CAST(d +/- INTERVAL ... AS DATE)
PARSE_TIMESTAMP(f, s[, tz])   STRPTIME(...) (zone dropped)    STRPTIME(s, f) AT TIME ZONE tz/'UTC'
ARRAY_AGG(x ORDER BY y LIMIT  ARRAY_AGG(... LIMIT n) (DuckDB   LIST_SLICE(ARRAY_AGG(x ORDER BY y),
n)                            rejects it)                     1, n)
CAST(x AS NUMERIC)            CAST(x AS DECIMAL) = (18, 3)    CAST(x AS DECIMAL(38, 9))
COUNTIF(c), AGG(IF(c, x,      COUNT_IF(c), AGG(CASE ...))     COUNT(*) FILTER (WHERE c), AGG(x)
NULL)) (AGG: SUM MAX MIN AVG  (right, but several times       FILTER (WHERE c)
COUNT, also COUNT(DISTINCT))  slower in DuckDB)
FARM_FINGERPRINT(x)           FARM_FINGERPRINT (no such       CAST(HASH(x) >> 1 AS BIGINT)
                              function in DuckDB)
@name parameters              $name                           (kept; sqlglot gets them right)
============================  ==============================  =====================================

DATE_TRUNC and DATE_ADD/DATE_SUB are taken to work on DATE values, as in BigQuery's own
signatures; timestamps go through TIMESTAMP_TRUNC / TIMESTAMP_ADD, which translate correctly.
DuckDB connections must run with ``TimeZone = 'UTC'`` so that EXTRACT on a TIMESTAMP WITH TIME
ZONE means what it means on BigQuery (the DuckDB backend sets it).
"""

from __future__ import annotations


class SqlError(ValueError):
    """SQL that is not one valid BigQuery statement, or that cannot be translated for DuckDB."""


# --------------------------------------------------------------------------------------------
# Parsing and translation
# --------------------------------------------------------------------------------------------


def parse_bigquery(sql: str):
    """Parse one BigQuery statement; a parse error names the problem."""
    import sqlglot
    from sqlglot.errors import ParseError

    try:
        trees = [t for t in sqlglot.parse(sql, read="bigquery") if t is not None]
    except ParseError as exc:
        raise SqlError(f"not valid BigQuery SQL: {exc}") from exc
    if len(trees) != 1:
        raise SqlError(f"expected one SQL statement, found {len(trees)}")
    return trees[0]


def parameters(sql: str) -> list[str]:
    """Names of the ``@name`` query parameters used in ``sql``, each once."""
    from sqlglot import exp

    names: list[str] = []
    for node in parse_bigquery(sql).find_all(exp.Parameter):
        name = node.name
        if name not in names:
            names.append(name)
    return names


def to_duckdb(sql: str) -> str:
    """Translate one BigQuery statement into DuckDB SQL (parameters become ``$name``)."""
    tree = parse_bigquery(sql)
    # Children before parents, so a gap nested inside another (DATE_SUB(DATE_TRUNC(..)))
    # is repaired too; sqlglot's own transform() does not descend into replaced nodes.
    for node in reversed(list(tree.dfs())):
        repaired = _repair_for_duckdb(node)
        if repaired is not node:
            if node is tree:
                tree = repaired
            else:
                node.replace(repaired)
    from sqlglot.dialects.dialect import Dialect
    from sqlglot.errors import ErrorLevel

    generator = Dialect.get_or_raise("duckdb").generator(unsupported_level=ErrorLevel.IGNORE)
    out = generator.generate(tree)
    # EXTRACT on a TIMESTAMP WITH TIME ZONE follows the session zone: the backend pins it to UTC.
    problems = [m for m in generator.unsupported_messages if "timezone handling" not in m]
    if problems:
        raise SqlError(f"cannot translate to DuckDB: {'; '.join(problems)}")
    return out


def _repair_for_duckdb(node):
    from sqlglot import exp

    if isinstance(node, exp.Extract) and node.this.name.upper() == "DAYOFWEEK":
        # BigQuery numbers Sunday 1 .. Saturday 7; DuckDB's DAYOFWEEK is 0 .. 6.
        return exp.Paren(this=exp.Add(this=node.copy(), expression=exp.Literal.number(1)))
    if isinstance(node, (exp.DateTrunc, exp.DateAdd, exp.DateSub)):
        # DuckDB's date arithmetic and DATE_TRUNC return TIMESTAMP; BigQuery keeps DATE.
        return exp.Cast(this=node.copy(), to=exp.DataType.build("DATE"))
    if isinstance(node, exp.StrToTime):
        return _parse_timestamp(node)
    if isinstance(node, exp.ArrayAgg) and isinstance(node.this, exp.Limit):
        limit = node.this
        inner = exp.ArrayAgg(this=limit.this.copy())
        return exp.func("list_slice", inner, exp.Literal.number(1), limit.expression.copy())
    if isinstance(node, exp.CountIf):
        return _filtered(exp.Count(this=exp.Star()), node.this)
    if isinstance(node, (exp.Sum, exp.Max, exp.Min, exp.Avg, exp.Count)) and not isinstance(node.parent, exp.Filter):
        arg = node.this
        distinct = isinstance(arg, exp.Distinct) and len(arg.expressions) == 1
        inner = arg.expressions[0] if distinct else arg
        if isinstance(inner, exp.If) and isinstance(inner.args.get("false"), exp.Null):
            value = inner.args["true"].copy()
            agg = node.__class__(this=exp.Distinct(expressions=[value]) if distinct else value)
            return _filtered(agg, inner.this)
    if isinstance(node, exp.FarmFingerprint):
        # DuckDB has no FarmHash; its HASH is as good a 64-bit key (values differ by backend,
        # so a fingerprint is a grouping key, never an id to compare across warehouses).
        hashed = exp.func("hash", node.expressions[0].copy())
        shifted = exp.BitwiseRightShift(this=hashed, expression=exp.Literal.number(1))
        return exp.Cast(this=exp.Paren(this=shifted), to=exp.DataType.build("BIGINT"))
    if isinstance(node, exp.DataType) and node.this == exp.DataType.Type.DECIMAL and not node.expressions:
        # BigQuery NUMERIC is DECIMAL(38, 9); DuckDB's bare DECIMAL is (18, 3) and rounds money.
        return exp.DataType.build("DECIMAL(38, 9)")
    return node


def _filtered(aggregate, condition):
    """``AGG(...) FILTER (WHERE condition)``: same result as BigQuery's COUNTIF(c) and
    AGG(IF(c, x, NULL)), and several times faster in DuckDB than COUNT_IF or AGG(CASE ...)."""
    from sqlglot import exp

    return exp.Filter(this=aggregate, expression=exp.Where(this=condition.copy()))


def _parse_timestamp(node):
    from sqlglot import exp

    fmt = node.args.get("format")
    fmt_text = fmt.name if isinstance(fmt, exp.Literal) else ""
    parsed = exp.StrToTime(this=node.this.copy(), format=fmt.copy() if fmt else None)
    if "%Y" not in fmt_text and node.args.get("default_year") is not None:
        # Without a year in the format BigQuery assumes 1970; keep sqlglot's handling of that.
        parsed.set("default_year", node.args["default_year"].copy())
    if "%Z" in fmt_text or "%z" in fmt_text:
        # DuckDB's STRPTIME returns TIMESTAMP WITH TIME ZONE when the text carries the zone.
        return parsed
    zone = node.args.get("zone")
    return exp.AtTimeZone(this=parsed, zone=zone.copy() if zone is not None else exp.Literal.string("UTC"))

