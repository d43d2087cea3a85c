-- grain: one row per user and product bought in the window
select distinct user_id, product_id
from events
where event_date between @start_date and @end_date and event_type = 'purchase'
