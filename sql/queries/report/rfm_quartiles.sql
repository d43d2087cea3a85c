-- grain: one row per frequency quartile of the RFM snapshot as_of
select
    frequency_quartile,
    count(*) as n_customers,
    min(frequency) as min_frequency,
    max(frequency) as max_frequency
from mart_rfm
where as_of_date = @as_of
group by frequency_quartile
order by frequency_quartile
