{#- One row per combination of `columns` that appears more than once on the run date. -#}
{% test unique_on_date(model, columns, date_column='event_date') %}
select {{ columns | join(', ') }}, count(*) as n_copies
from {{ model }}
where {{ date_column }} = {{ date_literal(run_date()) }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
