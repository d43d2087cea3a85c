{%- set windows = as_of_windows() -%}
{{ config(**replace_dates_config('as_of_date', windows | map('first') | list)) }}
-- Grain: one row per as_of_date and scope: the headline figures of the trailing window of
-- window_days days ending on as_of_date (inclusive). Keys: as_of_date, scope. A run replaces
-- only the snapshots it builds (var as_of_windows, default the run date and window_days).
-- Distinct users and sessions cannot be summed from the daily funnel (a user active on two
-- days would count twice), so the window's figures are computed here; a session that crosses
-- midnight counts once. Events and sessions on one date are counted per date and each window
-- sums its dates; only sessions with rows on several dates are grouped per window, and a user
-- is counted once per window on its first day of each kind in it (the previous dates that
-- int_user_days and int_session_days carry, macros/lookback.sql). Grouping every window's
-- rows by user and by session instead cost most of a daily run once the window held 30 days.
with snapshots as (
    {{ as_of_windows_relation() }}
),

session_days as {{ not_materialized() }} (
    select * from {{ ref('int_session_days') }}
    where event_date between {{ date_literal(windows | map(attribute=1) | min) }}
        and {{ date_literal(windows | map('first') | max) }}
),

daily_event_counts as (
    select
        event_date,
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
    from session_days
    group by event_date
),

event_counts as (
    select
        w.as_of_date,
        w.window_start_date,
        count(*) as n_days_loaded,
        sum(d.n_events) as n_events,
        sum(d.n_views) as n_views,
        sum(d.n_carts) as n_carts,
        sum(d.n_removes) as n_removes,
        sum(d.n_purchases) as n_purchases,
        sum(d.revenue) as revenue,
        sum(d.n_reference_events) as n_reference_events,
        sum(d.n_reference_views) as n_reference_views,
        sum(d.n_reference_carts) as n_reference_carts,
        sum(d.n_reference_removes) as n_reference_removes,
        sum(d.n_reference_purchases) as n_reference_purchases,
        sum(d.reference_revenue) as reference_revenue
    from snapshots as w
    inner join daily_event_counts as d on d.event_date between w.window_start_date and w.as_of_date
    group by w.as_of_date, w.window_start_date
),

-- Sessions with rows on more than one date of these windows (they crossed midnight): the few
-- rows whose session was seen earlier in the range name them (previous_session_date).
multi_day_sessions as (
    select distinct user_id, session_key
    from session_days
    where previous_session_date >= {{ date_literal(windows | map(attribute=1) | min) }}
),

flagged_session_days as {{ not_materialized() }} (
    select
        s.event_date,
        s.user_id,
        s.session_key,
        m.user_id is not null as crosses_dates,
        s.n_views > 0 as has_view,
        s.n_carts > 0 as has_cart,
        s.n_purchases > 0 as has_purchase,
        s.n_reference_events > 0 as has_reference_event,
        s.n_reference_views > 0 as has_reference_view,
        s.n_reference_carts > 0 as has_reference_cart,
        s.n_reference_purchases > 0 as has_reference_purchase
    from session_days as s
    left join multi_day_sessions as m on m.user_id = s.user_id and m.session_key = s.session_key
),

-- A session on one date is in a window exactly when its date is: counted once per date.
one_day_sessions as (
    select * from flagged_session_days where not crosses_dates
),

-- A session across dates: its flags over the part of it inside each window.
window_multi_day_sessions as (
    select
        w.as_of_date,
        f.user_id,
        f.session_key,
        {{ any_true('f.has_view') }} as has_view,
        {{ any_true('f.has_cart') }} as has_cart,
        {{ any_true('f.has_purchase') }} as has_purchase,
        {{ any_true('f.has_reference_event') }} as has_reference_event,
        {{ any_true('f.has_reference_view') }} as has_reference_view,
        {{ any_true('f.has_reference_cart') }} as has_reference_cart,
        {{ any_true('f.has_reference_purchase') }} as has_reference_purchase
    from snapshots as w
    inner join flagged_session_days as f on f.event_date between w.window_start_date and w.as_of_date
    where f.crosses_dates
    group by w.as_of_date, f.user_id, f.session_key
),

{% set session_count_columns = ['n_sessions', 'n_viewing_sessions', 'n_carting_sessions', 'n_purchasing_sessions',
    'n_viewing_purchasing_sessions', 'n_abandoned_cart_sessions', 'n_reference_sessions',
    'n_reference_viewing_sessions', 'n_reference_carting_sessions', 'n_reference_purchasing_sessions',
    'n_reference_viewing_purchasing_sessions', 'n_reference_abandoned_cart_sessions'] %}
{%- for name, rows, key in [('daily_session_counts', 'one_day_sessions', 'event_date'),
                             ('multi_day_session_counts', 'window_multi_day_sessions', 'as_of_date')] %}
{{ name }} as (
    select
        {{ key }},
        {{ session_counts() }},
        {{ count_where('has_reference_event') }} as n_reference_sessions,
        {{ count_where('has_reference_view') }} as n_reference_viewing_sessions,
        {{ count_where('has_reference_cart') }} as n_reference_carting_sessions,
        {{ count_where('has_reference_purchase') }} as n_reference_purchasing_sessions,
        {{ count_where('has_reference_view and has_reference_purchase') }} as n_reference_viewing_purchasing_sessions,
        {{ count_where('has_reference_cart and not has_reference_purchase') }} as n_reference_abandoned_cart_sessions
    from {{ rows }}
    group by {{ key }}
),
{% endfor %}

window_session_count_parts as (
    select w.as_of_date, {% for c in session_count_columns %}d.{{ c }}{{ ", " if not loop.last }}{% endfor %}
    from snapshots as w
    inner join daily_session_counts as d on d.event_date between w.window_start_date and w.as_of_date
    union all
    select as_of_date, {% for c in session_count_columns %}{{ c }}{{ ", " if not loop.last }}{% endfor %}
    from multi_day_session_counts
),

session_counts as (
    select
        as_of_date,
        {% for c in session_count_columns -%}
        cast(sum({{ c }}) as {{ int_type() }}) as {{ c }}{{ "," if not loop.last }}
        {% endfor %}
    from window_session_count_parts
    group by as_of_date
),

user_days as (
    select * from {{ ref('int_user_days') }}
    where event_date between {{ date_literal(windows | map(attribute=1) | min) }}
        and {{ date_literal(windows | map('first') | max) }}
),

user_counts as (
    select
        w.as_of_date,
        {{ count_where(first_in_window('u.previous_day')) }} as n_users,
        {{ count_where('u.has_purchase and ' ~ first_in_window('u.previous_purchase_day')) }} as n_purchasing_users,
        {{ count_where('u.has_reference_event and ' ~ first_in_window('u.previous_reference_event_day')) }}
            as n_reference_users,
        {{ count_where('u.has_reference_purchase and ' ~ first_in_window('u.previous_reference_purchase_day')) }}
            as n_reference_purchasing_users
    from snapshots as w
    inner join user_days as u on u.event_date between w.window_start_date and w.as_of_date
    group by w.as_of_date
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
