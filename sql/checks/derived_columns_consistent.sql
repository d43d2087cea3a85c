-- check: derived_columns_consistent
-- checks: event_date, event_hour and event_weekday (ISO, 1 = Monday) agree with event_time
--   (UTC), and category is the first level of category_code
-- materialized: check
-- Returns one row per inconsistent event.
with events as (
    select * from events where event_date = @run_date
),

expected as (
    select
        *,
        date(event_time) as expected_date,
        extract(hour from event_time) as expected_hour,
        -- BigQuery's DAYOFWEEK is 1 = Sunday .. 7 = Saturday; ISO is 1 = Monday .. 7 = Sunday.
        mod(extract(dayofweek from event_time) + 5, 7) + 1 as expected_weekday,
        split(category_code, '.')[safe_offset(0)] as expected_category
    from events
),

violations as (
    select
        event_time,
        event_date,
        event_hour,
        event_weekday,
        category_code,
        category
    from expected
    where event_date != expected_date
        or event_hour != expected_hour
        or event_weekday != expected_weekday
        or category is distinct from expected_category
)

select * from violations
