-- grain: one row per loaded date of the period: its row accounting
select event_date, rows_in, rows_valid, duplicates_dropped, rows_quarantined, rows_loaded
from manifests
where event_date between @start_date and @as_of
order by event_date
