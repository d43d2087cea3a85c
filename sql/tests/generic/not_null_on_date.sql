{#- Rows of the run date where any of `columns` is null. -#}
{% test not_null_on_date(model, columns, date_column='event_date') %}
select {{ columns | join(', ') }}
from {{ model }}
where {{ date_column }} = {{ date_literal(run_date()) }}
    and ({% for c in columns %}{{ c }} is null{{ " or " if not loop.last }}{% endfor %})
{% endtest %}
