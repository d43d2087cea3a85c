-- grain: one row per (viewed product, next distinct product viewed in the same session)
with views as (
  select user_session, event_time, product_id
  from events
  where event_date between @cutoff_date and @end_date and event_type = 'view'
),
ordered as (
  select
    product_id,
    lead(product_id) over (partition by user_session order by event_time, product_id) as next_product_id
  from views
)
select product_id, next_product_id, count(*) as n_transitions
from ordered
where next_product_id is not null and next_product_id != product_id
group by product_id, next_product_id
