{#- A per-date row carries the previous date its user (or session) was seen, looked up at most
    lookback_days - 1 days back (var lookback_days in dbt_project.yml: the longest window). An
    as-of window then counts a user or session once by keeping the rows whose previous date falls
    before the window starts: a filter on stored rows instead of grouping every row of the window
    by user or session, whose cost grew with the window. A window may not be longer than
    lookback_days (as_of_windows refuses it), and shopflow.marts.plan_marts rebuilds the
    lookback_days - 1 dates after a date that was loaded late, reloaded or removed, whose previous
    dates it can change. -#}
{% macro lookback_days() -%}
    {%- set days = var('lookback_days') | int -%}
    {%- if days < 1 -%}{{ exceptions.raise_compiler_error("lookback_days must be positive") }}{%- endif -%}
    {{- return(days) -}}
{%- endmacro %}

{#- The rows a per-date model looks back over: `new_rows` (this run's dates) and, on an
    incremental run, its stored rows from the lookback before the earliest date the run replaces
    up to the latest, except the dates it replaces. `key`: keep only stored rows whose key is in
    `new_rows` (for sessions, which seldom recur: probing the stored rows with one 64-bit key
    first halved the cost of the lookback at 30 days of history). -#}
{% macro lookback_rows(new_rows, columns, key=none) -%}
    select {{ columns | join(', ') }} from {{ new_rows }}
    {%- if is_incremental() %}
    {%- set dates = event_dates() %}
    union all
    select {{ columns | join(', ') }} from {{ this }}
    where event_date between {{ date_literal(dates | min - modules.datetime.timedelta(days=lookback_days() - 1)) }}
        and {{ date_literal(dates | max) }}
        and event_date not in {{ date_list(dates) }}
        {%- if key %}
        and {{ key }} in (select {{ key }} from {{ new_rows }})
        {%- endif %}
    {%- endif %}
{%- endmacro %}

{#- `earlier` is a date before `later` that a window of lookback_days days can hold with it. -#}
{% macro within_lookback(earlier, later) -%}
    {{ earlier }} < {{ later }} and {{ days_between(earlier, later) }} < {{ lookback_days() }}
{%- endmacro %}

{#- A row is its user's (or session's) first of the window `w` when its previous date, in
    `previous`, is before the window starts or unknown. -#}
{% macro first_in_window(previous, window='w') -%}
    ({{ previous }} is null or {{ previous }} < {{ window }}.window_start_date)
{%- endmacro %}
