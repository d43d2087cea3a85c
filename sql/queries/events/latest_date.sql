-- grain: one row: the newest loaded event date (null when events is empty)
select max(event_date) as latest_date from events
