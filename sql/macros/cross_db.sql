{#- The few places BigQuery and DuckDB differ, each one macro with an implementation per engine
    (adapter.dispatch). Models are otherwise plain SQL that both engines read the same way. -#}

{#- Rows where `condition` holds: COUNTIF on BigQuery; a FILTER clause on DuckDB, several
    times faster there than count_if or sum(case ...). -#}
{% macro count_where(condition) -%}
    {{ return(adapter.dispatch('count_where', 'shopflow')(condition)) }}
{%- endmacro %}
{% macro default__count_where(condition) -%}count(*) filter (where {{ condition }}){%- endmacro %}
{% macro bigquery__count_where(condition) -%}countif({{ condition }}){%- endmacro %}

{#- sum(expression) over the rows where `condition` holds (null when none). -#}
{% macro sum_where(expression, condition) -%}
    {{ return(adapter.dispatch('sum_where', 'shopflow')(expression, condition)) }}
{%- endmacro %}
{% macro default__sum_where(expression, condition) -%}sum({{ expression }}) filter (where {{ condition }}){%- endmacro %}
{% macro bigquery__sum_where(expression, condition) -%}sum(if({{ condition }}, {{ expression }}, null)){%- endmacro %}

{#- true when `condition` holds on any row of the group. -#}
{% macro any_true(condition) -%}
    {{ return(adapter.dispatch('any_true', 'shopflow')(condition)) }}
{%- endmacro %}
{% macro default__any_true(condition) -%}bool_or({{ condition }}){%- endmacro %}
{% macro bigquery__any_true(condition) -%}logical_or({{ condition }}){%- endmacro %}

{#- A 64-bit fingerprint of a string, used only to group and count (never shown). -#}
{% macro fingerprint64(expression) -%}
    {{ return(adapter.dispatch('fingerprint64', 'shopflow')(expression)) }}
{%- endmacro %}
{% macro default__fingerprint64(expression) -%}cast(hash({{ expression }}) >> 1 as bigint){%- endmacro %}
{% macro bigquery__fingerprint64(expression) -%}farm_fingerprint({{ expression }}){%- endmacro %}

{#- BigQuery's NUMERIC: exact money sums (DuckDB's bare DECIMAL is (18, 3) and would round). -#}
{% macro numeric_type() -%}
    {{ return(adapter.dispatch('numeric_type', 'shopflow')()) }}
{%- endmacro %}
{% macro default__numeric_type() -%}decimal(38, 9){%- endmacro %}
{% macro bigquery__numeric_type() -%}numeric{%- endmacro %}

{% macro float_type() -%}
    {{ return(adapter.dispatch('float_type', 'shopflow')()) }}
{%- endmacro %}
{% macro default__float_type() -%}double{%- endmacro %}
{% macro bigquery__float_type() -%}float64{%- endmacro %}

{% macro int_type() -%}
    {{ return(adapter.dispatch('int_type', 'shopflow')()) }}
{%- endmacro %}
{% macro default__int_type() -%}bigint{%- endmacro %}
{% macro bigquery__int_type() -%}int64{%- endmacro %}

{% macro string_type() -%}
    {{ return(adapter.dispatch('string_type', 'shopflow')()) }}
{%- endmacro %}
{% macro default__string_type() -%}varchar{%- endmacro %}
{% macro bigquery__string_type() -%}string{%- endmacro %}

{#- numerator / denominator as a float, null when the denominator is 0. -#}
{% macro safe_ratio(numerator, denominator) -%}
    {{ return(adapter.dispatch('safe_ratio', 'shopflow')(numerator, denominator)) }}
{%- endmacro %}
{% macro default__safe_ratio(numerator, denominator) -%}
    case when {{ denominator }} != 0 then cast({{ numerator }} as double) / {{ denominator }} end
{%- endmacro %}
{% macro bigquery__safe_ratio(numerator, denominator) -%}safe_divide({{ numerator }}, {{ denominator }}){%- endmacro %}

{#- Linear-interpolation percentile of `expression` over a window (as pandas quantile). -#}
{% macro percentile_cont_over(expression, fraction, partition_by) -%}
    {{ return(adapter.dispatch('percentile_cont_over', 'shopflow')(expression, fraction, partition_by)) }}
{%- endmacro %}
{% macro default__percentile_cont_over(expression, fraction, partition_by) -%}
    quantile_cont({{ expression }}, {{ fraction }}) over (partition by {{ partition_by }})
{%- endmacro %}
{% macro bigquery__percentile_cont_over(expression, fraction, partition_by) -%}
    percentile_cont({{ expression }}, {{ fraction }}) over (partition by {{ partition_by }})
{%- endmacro %}

{#- Whole days from `start` to `end` (DATE values). -#}
{% macro days_between(start, end) -%}
    {{ return(adapter.dispatch('days_between', 'shopflow')(start, end)) }}
{%- endmacro %}
{% macro default__days_between(start, end) -%}date_diff('day', {{ start }}, {{ end }}){%- endmacro %}
{% macro bigquery__days_between(start, end) -%}date_diff({{ end }}, {{ start }}, day){%- endmacro %}

{#- ISO weekday (1 = Monday .. 7 = Sunday) of a TIMESTAMP, in UTC. -#}
{% macro iso_weekday(timestamp) -%}
    {{ return(adapter.dispatch('iso_weekday', 'shopflow')(timestamp)) }}
{%- endmacro %}
{% macro default__iso_weekday(timestamp) -%}isodow({{ timestamp }}){%- endmacro %}
{% macro bigquery__iso_weekday(timestamp) -%}mod(extract(dayofweek from {{ timestamp }}) + 5, 7) + 1{%- endmacro %}

{#- The first `.`-separated level of a string (null stays null). -#}
{% macro first_level(expression) -%}
    {{ return(adapter.dispatch('first_level', 'shopflow')(expression)) }}
{%- endmacro %}
{% macro default__first_level(expression) -%}split_part({{ expression }}, '.', 1){%- endmacro %}
{% macro bigquery__first_level(expression) -%}split({{ expression }}, '.')[safe_offset(0)]{%- endmacro %}

{#- A row of a relation alias as JSON text (dq_results samples). -#}
{% macro row_to_json(alias) -%}
    {{ return(adapter.dispatch('row_to_json', 'shopflow')(alias)) }}
{%- endmacro %}
{% macro default__row_to_json(alias) -%}cast(to_json({{ alias }}) as varchar){%- endmacro %}
{% macro bigquery__row_to_json(alias) -%}to_json_string({{ alias }}){%- endmacro %}

{#- `name as {{ not_materialized() }} (...)`: a CTE read several times that is a filtered scan
    of a table. DuckDB materializes such a CTE (writes every column of every row once, then reads
    it back), which cost more than scanning the table again with only the columns each use
    needs; BigQuery never materializes CTEs and has no such keyword. -#}
{% macro not_materialized() -%}
    {{ return(adapter.dispatch('not_materialized', 'shopflow')()) }}
{%- endmacro %}
{% macro default__not_materialized() -%}not materialized{%- endmacro %}
{% macro bigquery__not_materialized() -%}{%- endmacro %}

{#- The n-th largest value of `expression` in the group (the smallest, when the group has fewer
    than n rows): DuckDB's max(x, n) keeps the n largest; BigQuery's ARRAY_AGG ... LIMIT n. -#}
{% macro nth_largest(expression, n) -%}
    {{ return(adapter.dispatch('nth_largest', 'shopflow')(expression, n)) }}
{%- endmacro %}
{% macro default__nth_largest(expression, n) -%}list_min(max({{ expression }}, {{ n }})){%- endmacro %}
{% macro bigquery__nth_largest(expression, n) -%}
    array_reverse(array_agg({{ expression }} order by {{ expression }} desc limit {{ n }}))[offset(0)]
{%- endmacro %}

{#- `select ... {{ storage_order('event_date') }}`: the rows of a per-date model written in date
    order. DuckDB keeps a min/max of each column per row group of 122,880 rows and skips the row
    groups a date filter rules out; rows written straight from a grouping come in hash order, so
    after a build of many dates at once (a first build, a backfill in one invocation, a full
    refresh) every row group held every date and each later window or lookback read all the
    history. BigQuery partitions these tables by date: nothing to do. -#}
{% macro storage_order(column) -%}
    {{ return(adapter.dispatch('storage_order', 'shopflow')(column)) }}
{%- endmacro %}
{% macro default__storage_order(column) -%}order by {{ column }}{%- endmacro %}
{% macro bigquery__storage_order(column) -%}{%- endmacro %}
