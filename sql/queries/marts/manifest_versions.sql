-- grain: one row per loaded date: what identifies its load (checksum and rows loaded)
select event_date, checksum, rows_loaded from manifests
