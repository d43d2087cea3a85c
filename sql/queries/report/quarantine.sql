-- grain: one row per date and reason of the period: quarantined rows
select event_date, reason, n_rows
from manifest_quarantine
where event_date between @start_date and @as_of
order by event_date, reason
