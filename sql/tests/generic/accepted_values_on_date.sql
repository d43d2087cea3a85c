{#- One row per value of `column_name` on the run date outside `values` (null included), with
    its count (n_events). -#}
{% test accepted_values_on_date(model, column_name, values, date_column='event_date') %}
select {{ column_name }}, count(*) as n_events
from {{ model }}
where {{ date_column }} = {{ date_literal(run_date()) }}
    and ({{ column_name }} is null or {{ column_name }} not in (
        {%- for v in values %}'{{ v }}'{{ ", " if not loop.last }}{% endfor %}))
group by {{ column_name }}
{% endtest %}
