-- grain: one row per scope of the snapshot as_of
select * from mart_period_summary where as_of_date = @as_of order by scope
