-- grain: one row per product seen in the window
select
  product_id,
  max(category_id) as category_id,
  max(category_code) as category_code,
  countif(event_type = 'purchase') as n_purchases
from events
where event_date between @start_date and @end_date
group by product_id
