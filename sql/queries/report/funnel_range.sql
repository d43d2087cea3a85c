-- grain: one row: the first and last dates of the daily funnel
select min(event_date) as first_date, max(event_date) as last_date from mart_daily_funnel
