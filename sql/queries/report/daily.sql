-- grain: one row per scope and date of the period
select *
from mart_daily_funnel
where event_date between @start_date and @as_of
order by scope, event_date
