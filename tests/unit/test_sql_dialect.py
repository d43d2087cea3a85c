"""The BigQuery -> DuckDB repairs in shopflow.warehouse.dialect, checked by running the result.

Expected values are BigQuery's documented results (e.g. DAYOFWEEK: Sunday = 1).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import duckdb
import pytest

from shopflow.warehouse.dialect import SqlError, parameters, to_duckdb


@pytest.fixture(scope="module")
def con():
    c = duckdb.connect()
    c.execute("set TimeZone = 'UTC'")
    yield c
    c.close()


def one(con, bigquery_sql, params=None):
    """Run BigQuery SQL on DuckDB; return (value, DuckDB type name) of its single column `x`."""
    sql = to_duckdb(bigquery_sql)
    return con.execute(f"select x, typeof(x) from ({sql})", params or {}).fetchall()[0]


def test_dayofweek_counts_sunday_as_one(con):
    # 2019-11-03 is a Sunday, 2019-11-02 a Saturday, 2019-11-04 a Monday
    assert one(con, "select extract(dayofweek from date '2019-11-03') as x")[0] == 1
    assert one(con, "select extract(dayofweek from date '2019-11-02') as x")[0] == 7
    assert one(con, "select extract(dayofweek from timestamp '2019-11-04 23:30:00+00') as x")[0] == 2


def test_date_trunc_and_date_arithmetic_stay_dates(con):
    assert one(con, "select date_trunc(date '2019-11-17', month) as x") == (dt.date(2019, 11, 1), "DATE")
    assert one(con, "select date_add(date '2019-11-30', interval 1 day) as x") == (dt.date(2019, 12, 1), "DATE")
    # the as-of marts' window start: 30 days ending on 11-30 start on 11-01
    got = one(
        con,
        "select date_sub(@run_date, interval @window_days - 1 day) as x",
        {"run_date": dt.date(2019, 11, 30), "window_days": 30},
    )
    assert got == (dt.date(2019, 11, 1), "DATE")
    # nested: the inner DATE_TRUNC is repaired too
    assert one(con, "select date_sub(date_trunc(date '2019-11-17', month), interval 1 day) as x") == (
        dt.date(2019, 10, 31),
        "DATE",
    )


def test_parse_timestamp_keeps_the_zone(con):
    utc = dt.timezone.utc
    value, kind = one(con, "select parse_timestamp('%Y-%m-%d %H:%M:%S', '2019-11-01 05:00:00') as x")
    assert (value, kind) == (dt.datetime(2019, 11, 1, 5, tzinfo=utc), "TIMESTAMP WITH TIME ZONE")
    # the public file's own format carries ' UTC'
    value, _ = one(con, "select parse_timestamp('%Y-%m-%d %H:%M:%S %Z', '2019-11-01 05:00:00 UTC') as x")
    assert value == dt.datetime(2019, 11, 1, 5, tzinfo=utc)
    # 05:00 in New York on 1 December (EST, UTC-5) is 10:00 UTC
    value, _ = one(con, "select parse_timestamp('%Y-%m-%d %H:%M:%S', '2019-12-01 05:00:00', 'America/New_York') as x")
    assert value == dt.datetime(2019, 12, 1, 10, tzinfo=utc)


def test_array_agg_with_limit(con):
    sql = "select array_agg(v order by v desc limit 2) as x from unnest([1, 3, 2]) as v"
    assert one(con, sql)[0] == [3, 2]


def test_numeric_keeps_nine_decimals(con):
    assert one(con, "select cast('1.123456789' as numeric) as x") == (Decimal("1.123456789"), "DECIMAL(38,9)")
    # ten cents three times is exactly thirty cents (in FLOAT64 it is 0.30000000000000004)
    sql = "select sum(cast(p as numeric)) as x from unnest([0.1, 0.1, 0.1]) as p"
    assert one(con, sql)[0] == Decimal("0.3")


def test_parameters_become_duckdb_parameters():
    assert parameters("select @run_date, @window_days, @run_date") == ["run_date", "window_days"]
    assert "$run_date" in to_duckdb("select * from t where d = @run_date")


def test_invalid_sql_is_a_clear_error():
    with pytest.raises(SqlError, match="not valid BigQuery SQL"):
        to_duckdb("select from where")
    with pytest.raises(SqlError, match="expected one SQL statement, found 2"):
        to_duckdb("select 1; select 2")


def test_conditional_aggregates_keep_bigquery_semantics(con):
    rows = (
        "(select 1 as v, 'a' as u union all select 2, 'b' union all select 3, 'b' "
        "union all select cast(null as int64), 'c')"
    )
    sql = (
        "select countif(v > 1) as a, sum(if(v > 1, v, null)) as b, sum(if(v > 5, v, null)) as c, "
        f"count(distinct if(v > 1, u, null)) as d, max(if(v < 3, v, null)) as e from {rows} as t"
    )
    duck = to_duckdb(sql)
    assert "FILTER" in duck and "COUNT_IF" not in duck
    # COUNTIF counts TRUE only (the NULL row is not counted); a SUM over no rows is NULL
    assert con.execute(duck).fetchall() == [(2, 5, None, 1, 2)]


def test_farm_fingerprint_is_a_stable_int64_key(con):
    sql = "select farm_fingerprint(s) as x from unnest(['u-1', 'u-2', 'u-1']) as s"
    keys = [r[0] for r in con.execute(to_duckdb(sql)).fetchall()]
    assert keys[0] == keys[2] != keys[1]
    assert con.execute(f"select distinct typeof(x) from ({to_duckdb(sql)})").fetchall() == [("BIGINT",)]
