-- grain: one row per weekday, hour and event type of the period, for one scope
select event_weekday, event_hour, event_type, sum(n_events) as n_events
from mart_hourly_activity
where scope = @scope and event_date between @start_date and @as_of
group by event_weekday, event_hour, event_type
order by event_weekday, event_hour, event_type
