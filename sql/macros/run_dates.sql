{#- The dates a run touches, from its vars. Dates are validated here so that a typo fails the
    run instead of matching nothing. -#}

{% macro _as_date(value) -%}
    {%- set text = value | string -%}
    {%- if modules.re.match('^\d{4}-\d{2}-\d{2}$', text) is none -%}
        {{ exceptions.raise_compiler_error("not a date (YYYY-MM-DD): " ~ text) }}
    {%- endif -%}
    {{- return(modules.datetime.date.fromisoformat(text)) -}}
{%- endmacro %}

{#- A run setting: the dbt var, else the environment variable SHOPFLOW_DBT_<NAME>. shopflow.dbt
    and Cosmos pass dates in the environment, because a change of --vars makes dbt parse the
    whole project again (seconds per run) while a changed environment variable re-parses only
    the files that read it. -#}
{% macro run_setting(name) -%}
    {%- set value = var(name, none) -%}
    {%- if value is none or value == '' -%}
        {%- set value = env_var('SHOPFLOW_DBT_' ~ name | upper, '') -%}
    {%- endif -%}
    {{- return(none if value == '' else value) -}}
{%- endmacro %}

{% macro run_date() -%}
    {%- set value = run_setting('run_date') -%}
    {%- if value is none -%}
        {%- if execute and flags.WHICH in ('run', 'build', 'test', 'compile') -%}
            {{ exceptions.raise_compiler_error("set the run date: --vars '{run_date: YYYY-MM-DD}'") }}
        {%- endif -%}
        {{- return(modules.datetime.date(2019, 11, 30)) -}}
    {%- endif -%}
    {{- return(_as_date(value)) -}}
{%- endmacro %}

{#- A run setting that lists dates (a list, or "YYYY-MM-DD,YYYY-MM-DD"), sorted; none if unset. -#}
{% macro _dates_setting(name) -%}
    {%- set values = run_setting(name) -%}
    {%- if values is none -%}{{ return(none) }}{%- endif -%}
    {%- if values is string -%}{%- set values = values.split(',') -%}{%- endif -%}
    {%- set dates = [] -%}
    {%- for v in values -%}{%- do dates.append(_as_date(v | trim)) -%}{%- endfor -%}
    {{- return(dates | unique | sort) -}}
{%- endmacro %}

{#- Event dates the per-date models replace: var event_dates, else the run date. -#}
{% macro event_dates() -%}
    {{- return(_dates_setting('event_dates') or [run_date()]) -}}
{%- endmacro %}

{#- Dates the data tests check and dq_results records: var check_dates, else the event dates
    (a run checks every date it built; shopflow.marts.plan_marts leaves out removed dates). -#}
{% macro check_dates() -%}
    {{- return(_dates_setting('check_dates') or event_dates()) -}}
{%- endmacro %}

{#- One row per date: event_date. -#}
{% macro dates_relation(days) -%}
    {%- for d in days %}
    select {{ date_literal(d) }} as event_date
    {%- if not loop.last %} union all{% endif %}
    {%- endfor %}
{%- endmacro %}

{#- As-of snapshots to build: [(as_of_date, window_start_date)], from var as_of_windows
    ([[date, days], ...]) or the run date and window_days. -#}
{% macro as_of_windows() -%}
    {%- set pairs = run_setting('as_of_windows') -%}
    {%- if pairs is none -%}
        {%- set pairs = [[run_date() | string, run_setting('window_days') or 30]] -%}
    {%- elif pairs is string -%}
        {#- "YYYY-MM-DD:days,YYYY-MM-DD:days" -#}
        {%- set text = pairs -%}
        {%- set pairs = [] -%}
        {%- for item in text.split(',') -%}{%- do pairs.append(item.strip().split(':')) -%}{%- endfor -%}
    {%- endif -%}
    {%- set windows = [] -%}
    {%- for as_of, days in pairs -%}
        {%- set days = days | int -%}
        {%- if days < 1 -%}{{ exceptions.raise_compiler_error("window_days must be positive") }}{%- endif -%}
        {%- if days > lookback_days() -%}
            {{ exceptions.raise_compiler_error("a window of " ~ days ~ " days is longer than lookback_days ("
                ~ lookback_days() ~ "): raise var lookback_days in dbt_project.yml and run with --full-refresh") }}
        {%- endif -%}
        {%- set day = _as_date(as_of) -%}
        {%- do windows.append((day, day - modules.datetime.timedelta(days=days - 1))) -%}
    {%- endfor -%}
    {{- return(windows | sort) -}}
{%- endmacro %}

{% macro date_literal(day) -%}
    date '{{ day }}'
{%- endmacro %}

{% macro date_list(days) -%}
    ({%- for d in days -%}{{ date_literal(d) }}{{ ", " if not loop.last }}{%- endfor -%})
{%- endmacro %}

{#- `column in (the touched event dates)`; on a full refresh, every date. -#}
{% macro in_event_dates(column) -%}
    {%- if is_incremental() -%}{{ column }} in {{ date_list(event_dates()) }}{%- else -%}true{%- endif -%}
{%- endmacro %}

{#- One row per as-of snapshot: as_of_date, window_start_date. -#}
{% macro as_of_windows_relation() -%}
    {%- for as_of, start in as_of_windows() %}
    select {{ date_literal(as_of) }} as as_of_date, {{ date_literal(start) }} as window_start_date
    {%- if not loop.last %} union all{% endif %}
    {%- endfor %}
{%- endmacro %}

{#- Config of a model partitioned by a date column that replaces exactly `days` of it, rows or
    no rows: insert_overwrite of those partitions on BigQuery, delete+insert of those dates on
    DuckDB (see replace_dates.sql). -#}
{% macro replace_dates_config(column, days) -%}
    {%- set literals = [] -%}
    {%- for d in days -%}{%- do literals.append(date_literal(d)) -%}{%- endfor -%}
    {%- if target.type == 'bigquery' -%}
        {{- return({
            'incremental_strategy': 'insert_overwrite',
            'partition_by': {'field': column, 'data_type': 'date', 'granularity': 'day'},
            'partitions': literals,
        }) -}}
    {%- else -%}
        {{- return({'incremental_strategy': 'delete+insert', 'unique_key': column, 'replace_values': literals}) -}}
    {%- endif -%}
{%- endmacro %}
