"""The dbt project compiles for both engines, and the dispatch macros give each its own SQL.

No BigQuery credentials exist here: `dbt compile --full-refresh --no-populate-cache` with a
placeholder Application Default Credentials file compiles every model and test for the bigquery
target without a request (sql/macros/is_incremental.sql), and sqlglot parses the result as
BigQuery SQL. The DuckDB compile of the same project is checked for DuckDB's forms.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlglot

from shopflow import dbt
from shopflow.marts import CHECKS, MODELS

# macro -> (what BigQuery gets, what DuckDB gets), each seen in some compiled model
DISPATCH = {
    "count_where": ("countif(", "count(*) filter (where"),
    "sum_where": ("sum(if(", ") filter (where event_type = 'purchase')"),
    "any_true": ("logical_or(", "bool_or("),
    "fingerprint64": ("farm_fingerprint(user_session)", "cast(hash(user_session) >> 1 as bigint)"),
    "numeric_type": ("as numeric)", "as decimal(38, 9))"),
    "float_type": ("as float64)", "as double)"),
    "safe_ratio": ("safe_divide(", "case when n_views != 0 then cast(n_purchases as double) / n_views end"),
    "percentile_cont_over": ("percentile_cont(frequency, 0.25) over", "quantile_cont(frequency, 0.25) over"),
    "days_between": ("date_diff(as_of_date, last_visit_date, day)", "date_diff('day', last_visit_date, as_of_date)"),
    "iso_weekday": ("mod(extract(dayofweek from event_time) + 5, 7) + 1", "isodow(event_time)"),
    "first_level": ("split(category_code, '.')[safe_offset(0)]", "split_part(category_code, '.', 1)"),
    "nth_largest": ("array_reverse(array_agg(n_events order by n_events desc limit 10))[offset(0)]",
                    "list_min(max(n_events, 10))"),
    "not_materialized": ("flagged_session_days as  (", "flagged_session_days as not materialized ("),
}


def compile_target(tmp_path: Path, target: str) -> dict[str, str]:
    import dataclasses

    from shopflow.config import get_settings

    creds = tmp_path / "placeholder-adc.json"
    creds.write_text(json.dumps({"type": "authorized_user", "client_id": "offline", "client_secret": "offline",
                                 "refresh_token": "offline"}))
    settings = dataclasses.replace(get_settings(), warehouse=target, bq_project="shopflow-test",
                                   duckdb_path=tmp_path / "warehouse.duckdb")
    out = tmp_path / f"target-{target}"
    dbt.run(["compile", "--full-refresh", "--no-populate-cache", "--no-introspect", "--target-path", str(out)],
            settings=settings, extra_env={"GOOGLE_APPLICATION_CREDENTIALS": str(creds), "NO_GCE_CHECK": "true",
                                          "SHOPFLOW_DBT_RUN_DATE": "2019-11-30"})
    sql = {p.stem: p.read_text().lower() for p in (out / "compiled" / "shopflow").rglob("*.sql")}
    sql["__manifest__"] = (out / "manifest.json").read_text()
    return sql


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    root = tmp_path_factory.mktemp("compile")
    return {"bigquery": compile_target(root, "bigquery"), "duckdb": compile_target(root, "duckdb")}


def test_every_model_and_check_compiles_for_bigquery_and_parses_as_bigquery(compiled):
    bq = {k: v for k, v in compiled["bigquery"].items() if k != "__manifest__"}
    assert set(MODELS) | set(CHECKS) <= set(bq)
    for name, sql in bq.items():
        assert sqlglot.parse_one(sql, read="bigquery") is not None, name
        assert "`shopflow-test`.`shopflow`." in sql or "select" in sql, name


@pytest.mark.parametrize("macro", sorted(DISPATCH))
def test_dispatch_macros_give_each_engine_its_sql(compiled, macro):
    bq_form, duck_form = DISPATCH[macro]
    bq = "\n".join(v for k, v in compiled["bigquery"].items() if k != "__manifest__")
    duck = "\n".join(v for k, v in compiled["duckdb"].items() if k != "__manifest__")
    assert bq_form in bq and bq_form not in duck, macro
    assert duck_form in duck and duck_form not in bq, macro


def test_per_date_intermediates_are_written_in_date_order_on_duckdb_only(compiled):
    # storage_order(): DuckDB skips row groups by their min/max date only if rows are stored in
    # date order; BigQuery partitions by date and gets no ORDER BY
    for model in ("int_session_days", "int_user_days", "int_item_days", "int_category_brand_days"):
        assert compiled["duckdb"][model].rstrip().endswith("order by event_date"), model
        assert "order by event_date" not in compiled["bigquery"][model], model


def test_per_date_and_as_of_models_replace_their_dates_on_each_engine(compiled):
    for target, strategy in (("bigquery", "insert_overwrite"), ("duckdb", "delete+insert")):
        nodes = json.loads(compiled[target]["__manifest__"])["nodes"]
        for model, column in (("int_session_days", "event_date"), ("int_user_days", "event_date"),
                              ("int_item_days", "event_date"), ("int_category_brand_days", "event_date"),
                              ("mart_daily_funnel", "event_date"),
                              ("mart_hourly_activity", "event_date"), ("mart_period_summary", "as_of_date"),
                              ("mart_top_items", "as_of_date"), ("mart_rfm", "as_of_date")):
            config = nodes[f"model.shopflow.{model}"]["config"]
            assert config["materialized"] == "incremental" and config["incremental_strategy"] == strategy, model
            if target == "bigquery":
                assert config["partition_by"]["field"] == column and config["partitions"] == ["date '2019-11-30'"]
            else:
                assert config["unique_key"] == column and config["replace_values"] == ["date '2019-11-30'"]
    # the relations are qualified with the project and dataset of the settings
    assert "`shopflow-test`.`shopflow`.`int_session_days`" in compiled["bigquery"]["mart_daily_funnel"]
