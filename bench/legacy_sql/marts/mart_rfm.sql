-- model: mart_rfm
-- grain: one row per as_of_date and purchasing user (a user with at least one purchase in the
--   trailing window of @window_days days ending on @run_date)
-- keys: as_of_date, user_id
-- materialized: partition(as_of_date = @run_date)
-- recency_days: days from the user's last visit (any event) to as_of_date.
-- frequency: the user's sessions in the window. monetary: the user's purchase revenue in it.
-- *_score_equal_width: the reference's method: the min-max range of the purchasing users cut
--   into five equal-width bins [min + k*w, min + (k+1)*w), the last bin closed at max; a value on
--   an inner edge goes to the upper bin; if min = max everyone is in bin 1. Recency is reversed
--   (the most recent bin scores 5).
-- *_score_quintile: NTILE(5) over the purchasing users (5 = most recent / most frequent /
--   highest spend); ties are split by user_id so reruns give the same scores.
-- frequency_p25/median/p75: linear-interpolation quartiles of frequency (as pandas computes
--   them); frequency_quartile is 1 for frequency <= p25, 2 for <= median, 3 for <= p75, else 4.
-- segment: from the quintile scores (the equal-width ones put nearly everyone in F=1, M=1), with
--   fm = (f + m) / 2: champions r >= 4 and fm >= 4; loyal r >= 3 and fm >= 3; promising r >= 4;
--   need_attention r = 3; at_risk fm >= 3; hibernating otherwise (first rule that applies).
with session_days as (
    select * from int_session_days
),

window_session_days as (
    select *
    from session_days
    where event_date between date_sub(@run_date, interval @window_days - 1 day) and @run_date
),

-- Only purchasing users are scored: finding them first (from the few session days with a
-- purchase) shrinks every later step to their sessions.
purchasers as (
    select distinct user_id
    from window_session_days
    where n_purchases > 0
),

purchaser_session_days as (
    select s.*
    from window_session_days as s
    inner join purchasers as p on p.user_id = s.user_id
),

sessions as (
    select
        user_id,
        session_key,
        max(event_date) as last_visit_date,
        max(if(n_purchases > 0, event_date, null)) as last_purchase_date,
        sum(n_purchases) as n_purchases,
        sum(revenue) as revenue
    from purchaser_session_days
    group by user_id, session_key
),

-- Sessions are counted as rows per user, faster than count(distinct session_key).
users as (
    select
        user_id,
        max(last_visit_date) as last_visit_date,
        max(last_purchase_date) as last_purchase_date,
        count(*) as frequency,
        sum(n_purchases) as n_purchases,
        sum(revenue) as revenue
    from sessions
    group by user_id
),

customers as (
    select
        user_id,
        last_visit_date,
        last_purchase_date,
        date_diff(@run_date, last_visit_date, day) as recency_days,
        frequency,
        n_purchases,
        cast(revenue as float64) as monetary
    from users
    where n_purchases > 0
),

ranges as (
    select
        *,
        min(recency_days) over () as min_recency,
        max(recency_days) over () as max_recency,
        min(frequency) over () as min_frequency,
        max(frequency) over () as max_frequency,
        min(monetary) over () as min_monetary,
        max(monetary) over () as max_monetary,
        percentile_cont(frequency, 0.25) over () as frequency_p25,
        percentile_cont(frequency, 0.5) over () as frequency_median,
        percentile_cont(frequency, 0.75) over () as frequency_p75
    from customers
),

equal_width_bins as (
    select
        *,
        -- 5 * (x - min) is divided last so that a value exactly on an edge lands on an integer.
        if(max_recency = min_recency, 1,
            least(5, 1 + cast(floor(5 * (recency_days - min_recency) / (max_recency - min_recency)) as int64)))
            as recency_bin,
        if(max_frequency = min_frequency, 1,
            least(5, 1 + cast(floor(5 * (frequency - min_frequency) / (max_frequency - min_frequency)) as int64)))
            as frequency_bin,
        if(max_monetary = min_monetary, 1,
            least(5, 1 + cast(floor(5 * (monetary - min_monetary) / (max_monetary - min_monetary)) as int64)))
            as monetary_bin
    from ranges
),

scored as (
    select
        *,
        6 - recency_bin as r_score_equal_width,
        frequency_bin as f_score_equal_width,
        monetary_bin as m_score_equal_width,
        ntile(5) over (order by recency_days desc, user_id) as r_score_quintile,
        ntile(5) over (order by frequency, user_id) as f_score_quintile,
        ntile(5) over (order by monetary, user_id) as m_score_quintile,
        case
            when frequency <= frequency_p25 then 1
            when frequency <= frequency_median then 2
            when frequency <= frequency_p75 then 3
            else 4
        end as frequency_quartile
    from equal_width_bins
),

segmented as (
    select
        *,
        case
            when r_score_quintile >= 4 and (f_score_quintile + m_score_quintile) / 2 >= 4 then 'champions'
            when r_score_quintile >= 3 and (f_score_quintile + m_score_quintile) / 2 >= 3 then 'loyal'
            when r_score_quintile >= 4 then 'promising'
            when r_score_quintile = 3 then 'need_attention'
            when (f_score_quintile + m_score_quintile) / 2 >= 3 then 'at_risk'
            else 'hibernating'
        end as segment
    from scored
),

final as (
    select
        @run_date as as_of_date,
        date_sub(@run_date, interval @window_days - 1 day) as window_start_date,
        user_id,
        last_visit_date,
        last_purchase_date,
        recency_days,
        frequency,
        n_purchases,
        monetary,
        r_score_equal_width,
        f_score_equal_width,
        m_score_equal_width,
        r_score_quintile,
        f_score_quintile,
        m_score_quintile,
        cast(r_score_quintile as string)
            || cast(f_score_quintile as string)
            || cast(m_score_quintile as string) as rfm_cell,
        segment,
        frequency_quartile,
        frequency_p25,
        frequency_median,
        frequency_p75
    from segmented
)

select * from final
