-- grain: one row per product seen in the window
select
  product_id,
  max(category_id) as category_id,
  max(category_code) as category_code,
  max(brand) as brand,
  avg(price) as price,
  countif(event_type = 'view') as n_views,
  countif(event_type = 'view' and event_date < @cutoff_date) as n_views_train,
  countif(event_type = 'purchase') as n_purchases
from events
where event_date between @start_date and @end_date
group by product_id
