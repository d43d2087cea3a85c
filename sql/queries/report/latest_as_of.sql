-- grain: one row: the newest period-summary snapshot (null when there is none)
select max(as_of_date) as as_of_date from mart_period_summary
