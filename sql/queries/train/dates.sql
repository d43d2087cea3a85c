-- grain: one row per day with events in the window
select distinct event_date from events where event_date between @start_date and @end_date
