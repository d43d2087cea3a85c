{{ config(**replace_dates_config('event_date', event_dates())) }}
-- Grain: one row per scope and event date, for every loaded date. Keys: scope, event_date.
-- Incremental: a run replaces only the event dates it touches.
-- scope 'all' counts every event; 'reference_filter' only rows with both a category_code and
-- a brand (the reference analysis's month overview). A session is a (user_id, user_session)
-- pair on that date. Sessions are rows of int_session_days; distinct users are counted as rows
-- of int_user_days (several times faster than count(distinct) on a month of events).
with session_days as (
    select * from {{ ref('int_session_days') }}
    where {{ in_event_dates('event_date') }}
),

flagged as (
    select
        event_date,
        event_weekday,
        user_id,
        n_events,
        n_views,
        n_carts,
        n_removes,
        n_purchases,
        revenue,
        n_reference_events,
        n_reference_views,
        n_reference_carts,
        n_reference_removes,
        n_reference_purchases,
        reference_revenue,
        n_views > 0 as has_view,
        n_carts > 0 as has_cart,
        n_purchases > 0 as has_purchase,
        n_reference_events > 0 as has_reference_event,
        n_reference_views > 0 as has_reference_view,
        n_reference_carts > 0 as has_reference_cart,
        n_reference_purchases > 0 as has_reference_purchase
    from session_days
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
        sum(revenue) as revenue,
        {{ session_counts() }},
        sum(n_reference_events) as n_reference_events,
        sum(n_reference_views) as n_reference_views,
        sum(n_reference_carts) as n_reference_carts,
        sum(n_reference_removes) as n_reference_removes,
        sum(n_reference_purchases) as n_reference_purchases,
        sum(reference_revenue) as reference_revenue,
        {{ count_where('has_reference_event') }} as n_reference_sessions,
        {{ count_where('has_reference_view') }} as n_reference_viewing_sessions,
        {{ count_where('has_reference_cart') }} as n_reference_carting_sessions,
        {{ count_where('has_reference_purchase') }} as n_reference_purchasing_sessions,
        {{ count_where('has_reference_view and has_reference_purchase') }} as n_reference_viewing_purchasing_sessions,
        {{ count_where('has_reference_cart and not has_reference_purchase') }} as n_reference_abandoned_cart_sessions
    from flagged
    group by event_date, event_weekday
),

user_days as (
    select * from {{ ref('int_user_days') }}
    where {{ in_event_dates('event_date') }}
),

daily_users as (
    select
        event_date,
        count(*) as n_users,
        {{ count_where('has_purchase') }} as n_purchasing_users,
        {{ count_where('has_reference_event') }} as n_reference_users,
        {{ count_where('has_reference_purchase') }} as n_reference_purchasing_users
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
        c.n_viewing_purchasing_sessions,
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
        c.n_reference_viewing_purchasing_sessions as n_viewing_purchasing_sessions,
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
        {{ funnel_columns() }}
    from daily
)

select * from final
