{#- delete+insert on DuckDB, deleting the dates the run replaces (config replace_values) rather
    than only the dates present in the new rows: a reloaded date that lost all its rows, or an
    as-of window that became empty, must lose its old rows too (BigQuery's insert_overwrite of
    static partitions does the same). Without replace_values this is dbt-duckdb's own macro. -#}
{% macro duckdb__get_delete_insert_merge_sql(target, source, unique_key, dest_columns, incremental_predicates) -%}
    {%- set replace_values = config.get('replace_values') -%}
    {%- if replace_values and unique_key is string -%}
        {%- set dest_cols_csv = get_quoted_csv(dest_columns | map(attribute="name")) -%}
        delete from {{ target }} where {{ unique_key }} in ({{ replace_values | join(', ') }});
        insert into {{ target }} ({{ dest_cols_csv }})
        (
            select {{ dest_cols_csv }}
            from {{ source }}
        )
    {%- else -%}
        {{ default__get_delete_insert_merge_sql(target, source, unique_key, dest_columns, incremental_predicates) }}
    {%- endif -%}
{%- endmacro %}

