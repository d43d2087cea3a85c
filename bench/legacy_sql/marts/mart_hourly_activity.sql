-- model: mart_hourly_activity
-- grain: one row per scope, event date, hour of day (UTC) and event type that has events,
--   for every loaded date (an absent row means zero events)
-- keys: scope, event_date, event_hour, event_type
-- materialized: table
-- The hour x weekday chart sums this over dates: group by event_weekday, event_hour.
with events as (
    select * from stg_events
),

hourly_by_filter as (
    select
        event_date,
        event_hour,
        event_weekday,
        event_type,
        is_reference_row,
        count(*) as n_events,
        coalesce(sum(if(event_type = 'purchase', cast(price as numeric), null)), 0) as revenue
    from events
    group by event_date, event_hour, event_weekday, event_type, is_reference_row
),

scoped as (
    select
        scope,
        event_date,
        event_hour,
        event_weekday,
        event_type,
        n_events,
        revenue
    from hourly_by_filter
    cross join unnest(['all', 'reference_filter']) as scope
    where scope = 'all' or is_reference_row
),

hourly as (
    select
        scope,
        event_date,
        event_hour,
        event_weekday,
        event_type,
        sum(n_events) as n_events,
        sum(revenue) as revenue
    from scoped
    group by scope, event_date, event_hour, event_weekday, event_type
),

final as (
    select
        scope,
        event_date,
        event_hour,
        event_weekday,
        event_weekday in (6, 7) as is_weekend,
        event_type,
        n_events,
        cast(revenue as float64) as revenue
    from hourly
)

select * from final
