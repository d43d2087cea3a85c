-- grain: one row: the customers of the RFM snapshot as_of
select
    count(*) as n_customers,
    max(frequency_p25) as frequency_p25,
    max(frequency_median) as frequency_median,
    max(frequency_p75) as frequency_p75,
    min(frequency) as min_frequency,
    max(frequency) as max_frequency,
    sum(monetary) as monetary
from mart_rfm
where as_of_date = @as_of
