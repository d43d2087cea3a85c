{%- set windows = as_of_windows() -%}
{{ config(**replace_dates_config('as_of_date', windows | map('first') | list)) }}
-- Grain: one row per as_of_date and purchasing user (a user with at least one purchase in the
-- trailing window ending on as_of_date). Keys: as_of_date, user_id. A run replaces only the
-- snapshots it builds.
-- recency_days: days from the user's last visit (any event) to as_of_date. frequency: the
-- user's sessions in the window. monetary: the user's purchase revenue in it.
-- *_score_equal_width: the reference's method (macro equal_width_bin), in exact arithmetic;
-- recency is reversed (the most recent bin scores 5).
-- *_score_quintile: NTILE(5) over the purchasing users (5 = most recent / most frequent /
-- highest spend), then every user takes the lowest tile of the users with an equal value:
-- equal values, equal scores (user_id only orders the rows NTILE splits).
-- frequency_p25/median/p75: linear-interpolation quartiles of frequency (as pandas computes
-- them); frequency_quartile is 1 for frequency <= p25, 2 for <= median, 3 for <= p75, else 4.
-- segment: from the quintile scores, with fm = (f + m) / 2: champions r >= 4 and fm >= 4;
-- loyal r >= 3 and fm >= 3; promising r >= 4; need_attention r = 3; at_risk fm >= 3;
-- hibernating otherwise (first rule that applies).
with snapshots as (
    {{ as_of_windows_relation() }}
),

session_days as {{ not_materialized() }} (
    select * from {{ ref('int_session_days') }}
    where event_date between {{ date_literal(windows | map(attribute=1) | min) }}
        and {{ date_literal(windows | map('first') | max) }}
),

-- Only purchasing users are scored: the users with a purchase anywhere in the snapshots' days
-- are found first (from the few session days with one), and only their session days go on.
range_purchasers as (
    select distinct user_id
    from session_days
    where n_purchases > 0
),

-- A session that crosses midnight has a row on each date. Its previous_session_date
-- (int_session_days) lets a window count sessions from rows: a row opens its session in a
-- window unless the session's previous date is in that window too.
purchaser_session_days as (
    select event_date, user_id, n_purchases, revenue, previous_session_date
    from session_days
    where user_id in (select user_id from range_purchasers)
),

window_session_days as (
    select w.as_of_date, w.window_start_date, s.*
    from snapshots as w
    inner join purchaser_session_days as s on s.event_date between w.window_start_date and w.as_of_date
),

users as (
    select
        as_of_date,
        window_start_date,
        user_id,
        max(event_date) as last_visit_date,
        max(case when n_purchases > 0 then event_date end) as last_purchase_date,
        {{ count_where(first_in_window('previous_session_date', 'window_session_days')) }}
            as frequency,
        sum(n_purchases) as n_purchases,
        sum(revenue) as revenue
    from window_session_days
    group by as_of_date, window_start_date, user_id
),

-- The users with a purchase in the snapshot's own window.
customers as (
    select
        as_of_date,
        window_start_date,
        user_id,
        last_visit_date,
        last_purchase_date,
        {{ days_between('last_visit_date', 'as_of_date') }} as recency_days,
        frequency,
        n_purchases,
        revenue
    from users
    where n_purchases > 0
),

ranges as (
    select
        *,
        min(recency_days) over (partition by as_of_date) as min_recency,
        max(recency_days) over (partition by as_of_date) as max_recency,
        min(frequency) over (partition by as_of_date) as min_frequency,
        max(frequency) over (partition by as_of_date) as max_frequency,
        min(revenue) over (partition by as_of_date) as min_revenue,
        max(revenue) over (partition by as_of_date) as max_revenue,
        {{ percentile_cont_over('frequency', 0.25, 'as_of_date') }} as frequency_p25,
        {{ percentile_cont_over('frequency', 0.5, 'as_of_date') }} as frequency_median,
        {{ percentile_cont_over('frequency', 0.75, 'as_of_date') }} as frequency_p75
    from customers
),

tiles as (
    select
        *,
        {{ equal_width_bin('recency_days', 'min_recency', 'max_recency') }} as recency_bin,
        {{ equal_width_bin('frequency', 'min_frequency', 'max_frequency') }} as frequency_bin,
        -- revenue is NUMERIC: the bin edges are exact, as the money is
        {{ equal_width_bin('revenue', 'min_revenue', 'max_revenue') }} as monetary_bin,
        ntile(5) over (partition by as_of_date order by recency_days desc, user_id) as r_tile,
        ntile(5) over (partition by as_of_date order by frequency, user_id) as f_tile,
        ntile(5) over (partition by as_of_date order by revenue, user_id) as m_tile
    from ranges
),

scored as (
    select
        *,
        6 - recency_bin as r_score_equal_width,
        frequency_bin as f_score_equal_width,
        monetary_bin as m_score_equal_width,
        min(r_tile) over (partition by as_of_date, recency_days) as r_score_quintile,
        min(f_tile) over (partition by as_of_date, frequency) as f_score_quintile,
        min(m_tile) over (partition by as_of_date, revenue) as m_score_quintile,
        case
            when frequency <= frequency_p25 then 1
            when frequency <= frequency_median then 2
            when frequency <= frequency_p75 then 3
            else 4
        end as frequency_quartile
    from tiles
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
        as_of_date,
        window_start_date,
        user_id,
        last_visit_date,
        last_purchase_date,
        recency_days,
        frequency,
        n_purchases,
        cast(revenue as {{ float_type() }}) as monetary,
        r_score_equal_width,
        f_score_equal_width,
        m_score_equal_width,
        r_score_quintile,
        f_score_quintile,
        m_score_quintile,
        cast(r_score_quintile as {{ string_type() }})
            || cast(f_score_quintile as {{ string_type() }})
            || cast(m_score_quintile as {{ string_type() }}) as rfm_cell,
        segment,
        frequency_quartile,
        frequency_p25,
        frequency_median,
        frequency_p75
    from segmented
)

select * from final
