-- grain: one row per user with any event in the window; their last viewed product, if any
with activity as (
  select user_id, product_id, event_type, event_time, category_id, category_code
  from events
  where event_date between @start_date and @end_date
),
last_view as (
  select
    user_id,
    product_id as last_product_id,
    category_id as last_category_id,
    category_code as last_category_code
  from activity
  where event_type = 'view'
  qualify row_number() over (partition by user_id order by event_time desc, product_id desc) = 1
),
active as (
  select distinct user_id from activity
)
select
  a.user_id,
  v.last_product_id,
  v.last_category_id,
  v.last_category_code
from active as a
left join last_view as v on a.user_id = v.user_id
