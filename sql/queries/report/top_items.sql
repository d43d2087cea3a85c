-- grain: one row per dimension, event type and rank of the snapshot as_of, for one scope
select *
from mart_top_items
where as_of_date = @as_of and scope = @scope
order by dimension, event_type, item_rank
