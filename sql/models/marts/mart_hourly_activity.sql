{{ config(**replace_dates_config('event_date', event_dates())) }}
-- Grain: one row per scope, event date, hour of day (UTC) and event type that has events, for
-- every loaded date (an absent row means zero events). Keys: scope, event_date, event_hour,
-- event_type. Incremental: a run replaces only the event dates it touches.
-- The hour x weekday chart sums this over dates: group by event_weekday, event_hour.
with events as (
    select * from {{ ref('stg_events') }}
    where {{ in_event_dates('event_date') }}
),

hourly_by_filter as (
    select
        event_date,
        event_hour,
        event_weekday,
        event_type,
        is_reference_row,
        count(*) as n_events,
        coalesce({{ sum_where('cast(price as ' ~ numeric_type() ~ ')', "event_type = 'purchase'") }}, 0) as revenue
    from events
    group by event_date, event_hour, event_weekday, event_type, is_reference_row
),

scoped as (
    select 'all' as scope, * from hourly_by_filter
    union all
    select 'reference_filter' as scope, * from hourly_by_filter where is_reference_row
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
        cast(revenue as {{ float_type() }}) as revenue
    from hourly
)

select * from final
