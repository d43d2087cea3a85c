{#- Rows of the checked dates where any of `columns` is null. -#}
{% test not_null_on_date(model, columns, date_column='event_date') %}
select {{ date_column }} as event_date, {{ columns | join(', ') }}
from {{ model }}
where {{ date_column }} in {{ date_list(check_dates()) }}
    and ({% for c in columns %}{{ c }} is null{{ " or " if not loop.last }}{% endfor %})
{% endtest %}
