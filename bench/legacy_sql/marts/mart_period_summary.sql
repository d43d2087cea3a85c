-- model: mart_period_summary
-- grain: one row per as_of_date and scope: the headline figures of the trailing window of
--   @window_days days ending on @run_date (inclusive)
-- keys: as_of_date, scope
-- materialized: partition(as_of_date = @run_date)
-- Distinct users and sessions cannot be summed from the daily funnel (a user active on two
-- days would count twice), so the period's figures are computed here. A session is a
-- (user_id, user_session) pair; one that crosses midnight counts once.
-- Event counts are summed straight from the session days; sessions and users are counted as
-- rows of steps that carry only yes/no flags (several times faster on a month of events than
-- count(distinct) or wide per-session sums).
with session_days as (
    select * from int_session_days
),

window_session_days as (
    select *
    from session_days
    where event_date between date_sub(@run_date, interval @window_days - 1 day) and @run_date
),

event_counts as (
    select
        count(distinct event_date) as n_days_loaded,
        sum(n_events) as n_events,
        sum(n_views) as n_views,
        sum(n_carts) as n_carts,
        sum(n_removes) as n_removes,
        sum(n_purchases) as n_purchases,
        sum(revenue) as revenue,
        sum(n_reference_events) as n_reference_events,
        sum(n_reference_views) as n_reference_views,
        sum(n_reference_carts) as n_reference_carts,
        sum(n_reference_removes) as n_reference_removes,
        sum(n_reference_purchases) as n_reference_purchases,
        sum(reference_revenue) as reference_revenue
    from window_session_days
),

sessions as (
    select
        user_id,
        session_key,
        logical_or(n_views > 0) as has_view,
        logical_or(n_carts > 0) as has_cart,
        logical_or(n_purchases > 0) as has_purchase,
        logical_or(n_reference_events > 0) as has_reference_event,
        logical_or(n_reference_views > 0) as has_reference_view,
        logical_or(n_reference_carts > 0) as has_reference_cart,
        logical_or(n_reference_purchases > 0) as has_reference_purchase
    from window_session_days
    group by user_id, session_key
),

session_counts as (
    select
        count(*) as n_sessions,
        countif(has_view) as n_viewing_sessions,
        countif(has_cart) as n_carting_sessions,
        countif(has_purchase) as n_purchasing_sessions,
        countif(has_cart and not has_purchase) as n_abandoned_cart_sessions,
        countif(has_reference_event) as n_reference_sessions,
        countif(has_reference_view) as n_reference_viewing_sessions,
        countif(has_reference_cart) as n_reference_carting_sessions,
        countif(has_reference_purchase) as n_reference_purchasing_sessions,
        countif(has_reference_cart and not has_reference_purchase) as n_reference_abandoned_cart_sessions
    from sessions
),

users as (
    select
        user_id,
        logical_or(has_purchase) as has_purchase,
        logical_or(has_reference_event) as has_reference_event,
        logical_or(has_reference_purchase) as has_reference_purchase
    from sessions
    group by user_id
),

user_counts as (
    select
        count(*) as n_users,
        countif(has_purchase) as n_purchasing_users,
        countif(has_reference_event) as n_reference_users,
        countif(has_reference_purchase) as n_reference_purchasing_users
    from users
),

all_scope as (
    select
        'all' as scope,
        e.n_days_loaded,
        e.n_events,
        e.n_views,
        e.n_carts,
        e.n_removes,
        e.n_purchases,
        u.n_users,
        s.n_sessions,
        s.n_viewing_sessions,
        s.n_carting_sessions,
        s.n_purchasing_sessions,
        s.n_abandoned_cart_sessions,
        u.n_purchasing_users,
        e.revenue
    from event_counts as e
    cross join session_counts as s
    cross join user_counts as u
),

reference_scope as (
    select
        'reference_filter' as scope,
        e.n_days_loaded,
        e.n_reference_events as n_events,
        e.n_reference_views as n_views,
        e.n_reference_carts as n_carts,
        e.n_reference_removes as n_removes,
        e.n_reference_purchases as n_purchases,
        u.n_reference_users as n_users,
        s.n_reference_sessions as n_sessions,
        s.n_reference_viewing_sessions as n_viewing_sessions,
        s.n_reference_carting_sessions as n_carting_sessions,
        s.n_reference_purchasing_sessions as n_purchasing_sessions,
        s.n_reference_abandoned_cart_sessions as n_abandoned_cart_sessions,
        u.n_reference_purchasing_users as n_purchasing_users,
        e.reference_revenue as revenue
    from event_counts as e
    cross join session_counts as s
    cross join user_counts as u
),

-- A window without events (or without reference rows) has no row for that scope, as the
-- daily funnel has none for such a date.
period as (
    select * from all_scope where n_sessions > 0
    union all
    select * from reference_scope where n_sessions > 0
),

final as (
    select
        @run_date as as_of_date,
        date_sub(@run_date, interval @window_days - 1 day) as window_start_date,
        scope,
        n_days_loaded,
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
    from period
)

select * from final
