-- grain: one row (or none): the newest snapshot's window
select as_of_date, window_start_date
from mart_period_summary
order by as_of_date desc
limit 1
