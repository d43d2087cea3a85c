-- grain: one row per event type and product of one user in the window
select event_type, product_id, max(event_time) as last_at, max(category_id) as category_id,
  max(category_code) as category_code
from events
where user_id = @user_id and event_date between @start_date and @end_date
  and event_type in ('view', 'purchase')
group by event_type, product_id
