{#- One row per checked date and combination of `columns` that appears more than once on it. -#}
{% test unique_on_date(model, columns, date_column='event_date') %}
select {{ date_column }} as event_date, {{ columns | join(', ') }}, count(*) as n_copies
from {{ model }}
where {{ date_column }} in {{ date_list(check_dates()) }}
group by {{ date_column }}, {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
