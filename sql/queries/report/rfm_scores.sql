-- grain: one row per RFM dimension, binning method and score: customers with that score
select 'R' as rfm_dimension, 'equal_width' as method, r_score_equal_width as score, count(*) as n_customers
from mart_rfm where as_of_date = @as_of group by r_score_equal_width
union all
select 'F' as rfm_dimension, 'equal_width' as method, f_score_equal_width as score, count(*) as n_customers
from mart_rfm where as_of_date = @as_of group by f_score_equal_width
union all
select 'M' as rfm_dimension, 'equal_width' as method, m_score_equal_width as score, count(*) as n_customers
from mart_rfm where as_of_date = @as_of group by m_score_equal_width
union all
select 'R' as rfm_dimension, 'quintile' as method, r_score_quintile as score, count(*) as n_customers
from mart_rfm where as_of_date = @as_of group by r_score_quintile
union all
select 'F' as rfm_dimension, 'quintile' as method, f_score_quintile as score, count(*) as n_customers
from mart_rfm where as_of_date = @as_of group by f_score_quintile
union all
select 'M' as rfm_dimension, 'quintile' as method, m_score_quintile as score, count(*) as n_customers
from mart_rfm where as_of_date = @as_of group by m_score_quintile
order by method, rfm_dimension, score
