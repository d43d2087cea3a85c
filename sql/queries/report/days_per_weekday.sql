-- grain: one row per weekday: loaded dates of the period (a month holds some weekdays four
-- times and others five)
select event_weekday, count(distinct event_date) as n_days
from mart_hourly_activity
where scope = 'all' and event_date between @start_date and @as_of
group by event_weekday
order by event_weekday
