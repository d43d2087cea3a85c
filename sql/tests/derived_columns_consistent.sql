{#- the description also lives here: dbt's partial parsing drops YAML patches of singular tests -#}
{{ config(meta={'description': 'event_date, event_hour and event_weekday (ISO, 1 = Monday) agree with event_time (UTC), and category is the first level of category_code'}) }}
-- event_date, event_hour and event_weekday (ISO, 1 = Monday) agree with event_time (UTC), and
-- category is the first level of category_code. One row per inconsistent event of the checked dates.
with events as (
    select * from {{ source('shopflow', 'events') }}
    where event_date in {{ date_list(check_dates()) }}
),

expected as (
    select
        *,
        cast(event_time as date) as expected_date,
        extract(hour from event_time) as expected_hour,
        {{ iso_weekday('event_time') }} as expected_weekday,
        nullif({{ first_level('category_code') }}, '') as expected_category
    from events
),

violations as (
    select event_time, event_date, event_hour, event_weekday, category_code, category
    from expected
    where event_date != expected_date
        or event_hour != expected_hour
        or event_weekday != expected_weekday
        or category is distinct from expected_category
)

select * from violations
