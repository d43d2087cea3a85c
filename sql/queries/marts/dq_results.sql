-- grain: one row per run date and check recorded between first and last
select run_date, check_name, description, n_violations, status, details
from dq_results
where run_date between @first and @last
order by run_date, check_name
