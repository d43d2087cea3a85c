{#- on-run-end: record every data test of the run in dq_results (one row per checked date and
    check, replaced on rerun; the dashboard reads it), then fail the run naming each failed
    check and date. A failed test keeps up to 5 of that date's violating rows as JSON in details. -#}
{% macro record_dq_results(results) %}
    {%- if not execute or flags.WHICH not in ('test', 'build') -%}{{ return('') }}{%- endif -%}
    {%- set tests = [] -%}
    {%- for r in results if r.node.resource_type == 'test' -%}{%- do tests.append(r) -%}{%- endfor -%}
    {%- if not tests -%}{{ return('') }}{%- endif -%}
    {%- set days = check_dates() -%}
    {%- set relation = api.Relation.create(database=target.database, schema=target.schema, identifier='dq_results') -%}
    {%- set rows = [] -%}
    {%- set failures = [] -%}
    {%- for r in tests | sort(attribute='node.name') -%}
        {%- set status = r.status | string -%}
        {%- set description = r.node.description or r.node.config.meta.get('description', '') -%}
        {%- set by_date = dq_violations_by_date(r.node) if status in ('fail', 'warn') else {} -%}
        {%- set dated = [] -%}
        {%- for day in days if (day | string) in by_date -%}{%- do dated.append(day) -%}{%- endfor -%}
        {%- if status in ('fail', 'warn') and not dated -%}
            {#- violations that name no checked date still fail every checked date -#}
            {%- for day in days -%}
                {%- do by_date.update({day | string: {'n': r.failures or 0, 'sample': []}}) -%}
            {%- endfor -%}
        {%- endif -%}
        {%- for day in days -%}
            {%- set key = day | string -%}
            {%- if status == 'pass' or (status in ('fail', 'warn') and key not in by_date) -%}
                {%- set row = [day, r.node.name, description, 0, 'pass', ''] -%}
            {%- elif status in ('fail', 'warn') -%}
                {%- set n = by_date[key]['n'] -%}
                {%- set details = n ~ ' violating rows, e.g. [' ~ (by_date[key]['sample'] | join(',')) ~ ']' -%}
                {%- set row = [day, r.node.name, description, n, 'fail', details] -%}
            {%- else -%}
                {%- set row = [day, r.node.name, description, 0, 'error', 'could not run: ' ~ (r.message or status)] -%}
            {%- endif -%}
            {%- if row[4] != 'pass' -%}
                {%- do failures.append('check ' ~ r.node.name ~ ' failed for ' ~ day ~ ': ' ~ row[5]) -%}
            {%- endif -%}
            {%- do rows.append(row) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- call statement('dq_results_table') -%}
        create table if not exists {{ relation }} (
            run_date date, check_name {{ string_type() }}, description {{ string_type() }},
            n_violations {{ int_type() }}, status {{ string_type() }}, details {{ string_type() }}
        )
    {%- endcall -%}
    {%- call statement('dq_results_delete') -%}
        delete from {{ relation }} where run_date in {{ date_list(days) }} and check_name in (
            {%- for t in tests | map(attribute='node.name') | unique %}{{ sql_string(t) }}{{ ", " if not loop.last }}{% endfor %})
    {%- endcall -%}
    {%- call statement('dq_results_insert') -%}
        insert into {{ relation }} (run_date, check_name, description, n_violations, status, details) values
        {%- for row in rows %}
            ({{ date_literal(row[0]) }}, {{ sql_string(row[1]) }}, {{ sql_string(row[2]) }}, {{ row[3] }},
             {{ sql_string(row[4]) }}, {{ sql_string(row[5]) }}){{ "," if not loop.last }}
        {%- endfor %}
    {%- endcall -%}
    {%- if adapter.type() == 'duckdb' -%}{%- do adapter.commit() -%}{%- endif -%}
    {%- if failures -%}
        {{ exceptions.raise_compiler_error(failures | join('; ')) }}
    {%- endif -%}
    {{ return('') }}
{% endmacro %}

{#- A failed test's violations per checked date (every test's rows carry event_date): how many,
    and up to 5 of them as JSON, ordered by their text so reruns agree. -#}
{% macro dq_violations_by_date(node) %}
    {%- if not node.compiled_code -%}{{ return({}) }}{%- endif -%}
    {%- set sql -%}
        with violations as (
            select cast(cast(v.event_date as date) as {{ string_type() }}) as event_date, {{ row_to_json('v') }} as row_json
            from ({{ node.compiled_code }}) as v
        ),
        numbered as (
            select
                event_date,
                row_json,
                count(*) over (partition by event_date) as n_rows,
                row_number() over (partition by event_date order by row_json) as row_rank
            from violations
        )
        select event_date, n_rows, row_json from numbered where row_rank <= 5 order by event_date, row_rank
    {%- endset -%}
    {%- set by_date = {} -%}
    {%- for row in run_query(sql).rows -%}
        {%- set key = row[0] | string -%}
        {%- if key not in by_date -%}{%- do by_date.update({key: {'n': row[1] | int, 'sample': []}}) -%}{%- endif -%}
        {%- do by_date[key]['sample'].append(row[2]) -%}
    {%- endfor -%}
    {{ return(by_date) }}
{% endmacro %}

{#- A string literal: '' escaping on DuckDB, backslash escaping on BigQuery. -#}
{% macro sql_string(value) -%}
    {{ return(adapter.dispatch('sql_string', 'shopflow')(value)) }}
{%- endmacro %}
{% macro default__sql_string(value) -%}'{{ (value | string).replace("'", "''") }}'{%- endmacro %}
{% macro bigquery__sql_string(value) -%}
    '{{ (value | string).replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n") }}'
{%- endmacro %}
