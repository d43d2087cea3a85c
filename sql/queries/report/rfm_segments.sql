-- grain: one row per segment of the RFM snapshot as_of
select
    segment,
    count(*) as n_customers,
    sum(monetary) as monetary,
    avg(recency_days) as avg_recency_days,
    avg(frequency) as avg_frequency
from mart_rfm
where as_of_date = @as_of
group by segment
order by segment
