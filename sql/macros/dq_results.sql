{#- on-run-end: record every data test of the run in dq_results (one row per run_date and
    check, replaced on rerun; the dashboard reads it), then fail the run naming each failed
    check and the date. A failed test keeps up to 5 of its violating rows as JSON in details. -#}
{% macro record_dq_results(results) %}
    {%- if not execute or flags.WHICH not in ('test', 'build') -%}{{ return('') }}{%- endif -%}
    {%- set tests = [] -%}
    {%- for r in results if r.node.resource_type == 'test' -%}{%- do tests.append(r) -%}{%- endfor -%}
    {%- if not tests -%}{{ return('') }}{%- endif -%}
    {%- set day = run_date() -%}
    {%- set relation = api.Relation.create(database=target.database, schema=target.schema, identifier='dq_results') -%}
    {%- set rows = [] -%}
    {%- set failures = [] -%}
    {%- for r in tests | sort(attribute='node.name') -%}
        {%- set status = r.status | string -%}
        {%- set n = r.failures or 0 -%}
        {%- if status == 'pass' -%}
            {%- set details = '' -%}
        {%- elif status in ('fail', 'warn') -%}
            {%- set status = 'fail' -%}
            {%- set details = n ~ ' violating rows, e.g. [' ~ (dq_sample(r.node) | join(',')) ~ ']' -%}
        {%- else -%}
            {%- set details = 'could not run: ' ~ (r.message or status) -%}
            {%- set status = 'error' -%}
        {%- endif -%}
        {%- if status != 'pass' -%}
            {%- do failures.append('check ' ~ r.node.name ~ ' failed for ' ~ day ~ ': ' ~ details) -%}
        {%- endif -%}
        {%- do rows.append([r.node.name, r.node.description or r.node.config.meta.get('description', ''), n, status, details]) -%}
    {%- endfor -%}
    {%- call statement('dq_results_table') -%}
        create table if not exists {{ relation }} (
            run_date date, check_name {{ string_type() }}, description {{ string_type() }},
            n_violations {{ int_type() }}, status {{ string_type() }}, details {{ string_type() }}
        )
    {%- endcall -%}
    {%- call statement('dq_results_delete') -%}
        delete from {{ relation }} where run_date = {{ date_literal(day) }} and check_name in (
            {%- for row in rows %}{{ sql_string(row[0]) }}{{ ", " if not loop.last }}{% endfor %})
    {%- endcall -%}
    {%- call statement('dq_results_insert') -%}
        insert into {{ relation }} (run_date, check_name, description, n_violations, status, details) values
        {%- for row in rows %}
            ({{ date_literal(day) }}, {{ sql_string(row[0]) }}, {{ sql_string(row[1]) }}, {{ row[2] }},
             {{ sql_string(row[3]) }}, {{ sql_string(row[4]) }}){{ "," if not loop.last }}
        {%- endfor %}
    {%- endcall -%}
    {%- if adapter.type() == 'duckdb' -%}{%- do adapter.commit() -%}{%- endif -%}
    {%- if failures -%}
        {{ exceptions.raise_compiler_error(failures | join('; ')) }}
    {%- endif -%}
    {{ return('') }}
{% endmacro %}

{#- Up to 5 violating rows of a test as JSON, ordered by their text so reruns agree. -#}
{% macro dq_sample(node) %}
    {%- if not node.compiled_code -%}{{ return([]) }}{%- endif -%}
    {%- set sql -%}
        select {{ row_to_json('violations') }} as row_json
        from ({{ node.compiled_code }}) as violations
        order by 1
        limit 5
    {%- endset -%}
    {%- set table = run_query(sql) -%}
    {{ return(table.columns[0].values() | list) }}
{% endmacro %}

{#- A string literal: '' escaping on DuckDB, backslash escaping on BigQuery. -#}
{% macro sql_string(value) -%}
    {{ return(adapter.dispatch('sql_string', 'shopflow')(value)) }}
{%- endmacro %}
{% macro default__sql_string(value) -%}'{{ (value | string).replace("'", "''") }}'{%- endmacro %}
{% macro bigquery__sql_string(value) -%}
    '{{ (value | string).replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n") }}'
{%- endmacro %}
