-- grain: one row (or none) for the product
select product_id, max(category_id) as category_id, max(category_code) as category_code
from events
where product_id = @product_id and event_date <= @end_date
group by product_id
