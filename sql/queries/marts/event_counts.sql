-- grain: one row per loaded date: its events (stands in for manifests when there are none)
select event_date, count(*) as n from events group by event_date
