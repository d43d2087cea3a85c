{#- dbt's is_incremental, asking for the relation only when not refreshing in full: a
    `dbt compile --full-refresh` then needs no warehouse connection, which is how the BigQuery
    target is compiled where no credentials exist (tests/unit/test_dbt_bigquery.py). -#}
{% macro is_incremental() %}
    {%- if not execute or should_full_refresh() -%}
        {{ return(False) }}
    {%- endif -%}
    {{ return(dbt.is_incremental()) }}
{% endmacro %}
