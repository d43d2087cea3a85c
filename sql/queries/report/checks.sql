-- grain: one row per run date and data-quality check of the period
select run_date, check_name, description, n_violations, status, details
from dq_results
where run_date between @start_date and @as_of
order by run_date, check_name
