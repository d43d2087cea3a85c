{%- set windows = as_of_windows() -%}
{{ config(**replace_dates_config('as_of_date', windows | map('first') | list)) }}
-- Grain: one row per as_of_date and scope: the headline figures of the trailing window of
-- window_days days ending on as_of_date (inclusive). Keys: as_of_date, scope. A run replaces
-- only the snapshots it builds (var as_of_windows, default the run date and window_days).
-- Distinct users and sessions cannot be summed from the daily funnel (a user active on two
-- days would count twice), so the window's figures are computed here; a session that crosses
-- midnight counts once. Sessions and users are counted as rows of steps that carry only flags.
with snapshots as (
    {{ as_of_windows_relation() }}
),

session_days as (
    select * from {{ ref('int_session_days') }}
    where event_date between {{ date_literal(windows | map(attribute=1) | min) }}
        and {{ date_literal(windows | map('first') | max) }}
),

window_session_days as (
    select w.as_of_date, w.window_start_date, s.*
    from snapshots as w
    inner join session_days as s
        on s.event_date between w.window_start_date and w.as_of_date
),

event_counts as (
    select
        as_of_date,
        window_start_date,
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
    group by as_of_date, window_start_date
),

sessions as (
    select
        as_of_date,
        user_id,
        session_key,
        {{ any_true('n_views > 0') }} as has_view,
        {{ any_true('n_carts > 0') }} as has_cart,
        {{ any_true('n_purchases > 0') }} as has_purchase,
        {{ any_true('n_reference_events > 0') }} as has_reference_event,
        {{ any_true('n_reference_views > 0') }} as has_reference_view,
        {{ any_true('n_reference_carts > 0') }} as has_reference_cart,
        {{ any_true('n_reference_purchases > 0') }} as has_reference_purchase
    from window_session_days
    group by as_of_date, user_id, session_key
),

session_counts as (
    select
        as_of_date,
        {{ session_counts() }},
        {{ count_where('has_reference_event') }} as n_reference_sessions,
        {{ count_where('has_reference_view') }} as n_reference_viewing_sessions,
        {{ count_where('has_reference_cart') }} as n_reference_carting_sessions,
        {{ count_where('has_reference_purchase') }} as n_reference_purchasing_sessions,
        {{ count_where('has_reference_view and has_reference_purchase') }} as n_reference_viewing_purchasing_sessions,
        {{ count_where('has_reference_cart and not has_reference_purchase') }} as n_reference_abandoned_cart_sessions
    from sessions
    group by as_of_date
),

users as (
    select
        as_of_date,
        user_id,
        {{ any_true('has_purchase') }} as has_purchase,
        {{ any_true('has_reference_event') }} as has_reference_event,
        {{ any_true('has_reference_purchase') }} as has_reference_purchase
    from sessions
    group by as_of_date, user_id
),

user_counts as (
    select
        as_of_date,
        count(*) as n_users,
        {{ count_where('has_purchase') }} as n_purchasing_users,
        {{ count_where('has_reference_event') }} as n_reference_users,
        {{ count_where('has_reference_purchase') }} as n_reference_purchasing_users
    from users
    group by as_of_date
),

all_scope as (
    select
        e.as_of_date,
        e.window_start_date,
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
        s.n_viewing_purchasing_sessions,
        s.n_abandoned_cart_sessions,
        u.n_purchasing_users,
        e.revenue
    from event_counts as e
    inner join session_counts as s on s.as_of_date = e.as_of_date
    inner join user_counts as u on u.as_of_date = e.as_of_date
),

reference_scope as (
    select
        e.as_of_date,
        e.window_start_date,
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
        s.n_reference_viewing_purchasing_sessions as n_viewing_purchasing_sessions,
        s.n_reference_abandoned_cart_sessions as n_abandoned_cart_sessions,
        u.n_reference_purchasing_users as n_purchasing_users,
        e.reference_revenue as revenue
    from event_counts as e
    inner join session_counts as s on s.as_of_date = e.as_of_date
    inner join user_counts as u on u.as_of_date = e.as_of_date
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
        as_of_date,
        window_start_date,
        scope,
        n_days_loaded,
        {{ funnel_columns() }}
    from period
)

select * from final
