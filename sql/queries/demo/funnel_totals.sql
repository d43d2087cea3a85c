-- grain: one row: the daily funnel's totals over first..last (scope all)
select sum(n_events) as events, sum(n_views) as views, sum(n_carts) as carts,
  sum(n_purchases) as purchases, sum(revenue) as revenue
from mart_daily_funnel where event_date between @first and @last and scope = 'all'
