{#- One row per checked date and value of `column_name` outside `values` (null included), with
    its count (n_events). -#}
{% test accepted_values_on_date(model, column_name, values, date_column='event_date') %}
select {{ date_column }} as event_date, {{ column_name }}, count(*) as n_events
from {{ model }}
where {{ date_column }} in {{ date_list(check_dates()) }}
    and ({{ column_name }} is null or {{ column_name }} not in (
        {%- for v in values %}'{{ v }}'{{ ", " if not loop.last }}{% endfor %}))
group by {{ date_column }}, {{ column_name }}
{% endtest %}
