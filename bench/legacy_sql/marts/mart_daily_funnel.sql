-- model: mart_daily_funnel
-- grain: one row per scope and event date, for every loaded date
-- keys: scope, event_date
-- materialized: table
-- scope 'all' counts every event; 'reference_filter' only rows with both a category_code and
-- a brand (the reference analysis's month overview). A session is a (user_id, user_session)
-- pair on that date. Rates are null when their denominator is zero.
-- Sessions are rows of int_session_days, so their counts need no grouping per session; distinct
-- users are counted as rows of user_days, which carries only the three flags it needs (on a
-- month of events this is several times faster than count(distinct) or wide per-user sums).
with session_days as (
    select * from int_session_days
),

daily_counts as (
    select
        event_date,
        event_weekday,
        sum(n_events) as n_events,
        sum(n_views) as n_views,
        sum(n_carts) as n_carts,
        sum(n_removes) as n_removes,
        sum(n_purchases) as n_purchases,
        count(*) as n_sessions,
        countif(n_views > 0) as n_viewing_sessions,
        countif(n_carts > 0) as n_carting_sessions,
        countif(n_purchases > 0) as n_purchasing_sessions,
        countif(n_carts > 0 and n_purchases = 0) as n_abandoned_cart_sessions,
        sum(revenue) as revenue,
        sum(n_reference_events) as n_reference_events,
        sum(n_reference_views) as n_reference_views,
        sum(n_reference_carts) as n_reference_carts,
        sum(n_reference_removes) as n_reference_removes,
        sum(n_reference_purchases) as n_reference_purchases,
        countif(n_reference_events > 0) as n_reference_sessions,
        countif(n_reference_views > 0) as n_reference_viewing_sessions,
        countif(n_reference_carts > 0) as n_reference_carting_sessions,
        countif(n_reference_purchases > 0) as n_reference_purchasing_sessions,
        countif(n_reference_carts > 0 and n_reference_purchases = 0) as n_reference_abandoned_cart_sessions,
        sum(reference_revenue) as reference_revenue
    from session_days
    group by event_date, event_weekday
),

user_days as (
    select
        event_date,
        user_id,
        logical_or(n_purchases > 0) as has_purchase,
        logical_or(n_reference_events > 0) as has_reference_event,
        logical_or(n_reference_purchases > 0) as has_reference_purchase
    from session_days
    group by event_date, user_id
),

daily_users as (
    select
        event_date,
        count(*) as n_users,
        countif(has_purchase) as n_purchasing_users,
        countif(has_reference_event) as n_reference_users,
        countif(has_reference_purchase) as n_reference_purchasing_users
    from user_days
    group by event_date
),

all_scope as (
    select
        'all' as scope,
        c.event_date,
        c.event_weekday,
        c.n_events,
        c.n_views,
        c.n_carts,
        c.n_removes,
        c.n_purchases,
        u.n_users,
        c.n_sessions,
        c.n_viewing_sessions,
        c.n_carting_sessions,
        c.n_purchasing_sessions,
        c.n_abandoned_cart_sessions,
        u.n_purchasing_users,
        c.revenue
    from daily_counts as c
    inner join daily_users as u on u.event_date = c.event_date
),

reference_scope as (
    select
        'reference_filter' as scope,
        c.event_date,
        c.event_weekday,
        c.n_reference_events as n_events,
        c.n_reference_views as n_views,
        c.n_reference_carts as n_carts,
        c.n_reference_removes as n_removes,
        c.n_reference_purchases as n_purchases,
        u.n_reference_users as n_users,
        c.n_reference_sessions as n_sessions,
        c.n_reference_viewing_sessions as n_viewing_sessions,
        c.n_reference_carting_sessions as n_carting_sessions,
        c.n_reference_purchasing_sessions as n_purchasing_sessions,
        c.n_reference_abandoned_cart_sessions as n_abandoned_cart_sessions,
        u.n_reference_purchasing_users as n_purchasing_users,
        c.reference_revenue as revenue
    from daily_counts as c
    inner join daily_users as u on u.event_date = c.event_date
    where c.n_reference_sessions > 0
),

daily as (
    select * from all_scope
    union all
    select * from reference_scope
),

final as (
    select
        scope,
        event_date,
        event_weekday,
        event_weekday in (6, 7) as is_weekend,
        n_events,
        n_views,
        n_carts,
        n_removes,
        n_purchases,
        n_users,
        n_sessions,
        n_viewing_sessions,
        n_carting_sessions,
        n_purchasing_sessions,
        n_abandoned_cart_sessions,
        n_purchasing_users,
        cast(revenue as float64) as revenue,
        safe_divide(n_purchases, n_events) as conversion_rate_events,
        safe_divide(n_purchases, n_views) as conversion_rate_views,
        safe_divide(n_purchasing_sessions, n_viewing_sessions) as conversion_rate_sessions,
        safe_divide(n_abandoned_cart_sessions, n_carting_sessions) as cart_abandonment_rate,
        safe_divide(n_carts, n_views) as view_to_cart_rate,
        safe_divide(n_purchases, n_carts) as cart_to_purchase_rate
    from daily
)

select * from final
