-- model: mart_weekday_activity
-- grain: one row per scope, ISO weekday (1 = Monday .. 7 = Sunday) and event type, over every
--   loaded date
-- keys: scope, event_weekday, event_type
-- materialized: table
-- A month holds some weekdays four times and others five, so besides the totals this mart gives
-- the number of loaded dates per weekday and the mean events per such date.
with hourly as (
    select * from mart_hourly_activity
),

loaded_dates as (
    select distinct event_date, event_weekday from hourly where scope = 'all'
),

days_per_weekday as (
    select event_weekday, count(*) as n_days
    from loaded_dates
    group by event_weekday
),

weekday_totals as (
    select
        scope,
        event_weekday,
        event_type,
        sum(n_events) as n_events,
        sum(cast(revenue as numeric)) as revenue
    from hourly
    group by scope, event_weekday, event_type
),

type_totals as (
    select scope, event_type, sum(n_events) as n_type_events
    from weekday_totals
    group by scope, event_type
),

final as (
    select
        w.scope,
        w.event_weekday,
        case w.event_weekday
            when 1 then 'Monday'
            when 2 then 'Tuesday'
            when 3 then 'Wednesday'
            when 4 then 'Thursday'
            when 5 then 'Friday'
            when 6 then 'Saturday'
            when 7 then 'Sunday'
        end as weekday_name,
        w.event_weekday in (6, 7) as is_weekend,
        w.event_type,
        d.n_days,
        w.n_events,
        w.n_events / d.n_days as avg_events_per_day,
        safe_divide(w.n_events, t.n_type_events) as share_of_type_events,
        cast(w.revenue as float64) as revenue
    from weekday_totals as w
    inner join days_per_weekday as d on d.event_weekday = w.event_weekday
    inner join type_totals as t on t.scope = w.scope and t.event_type = w.event_type
)

select * from final
