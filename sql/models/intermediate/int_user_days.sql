{{ config(**replace_dates_config('event_date', event_dates())) }}
-- Grain: one row per event date and user. Keys: event_date, user_id. Incremental: a run
-- replaces only the event dates it touches.
-- Which kinds of activity the user had that day, from int_session_days, and the user's previous
-- date of each kind within lookback_days (macros/lookback.sql). The daily funnel counts its
-- users from these rows; the period summary counts each user once per window from them.
with session_days as (
    select * from {{ ref('int_session_days') }}
    where {{ in_event_dates('event_date') }}
),

user_days as (
    select
        event_date,
        user_id,
        {{ any_true('n_purchases > 0') }} as has_purchase,
        {{ any_true('n_reference_events > 0') }} as has_reference_event,
        {{ any_true('n_reference_purchases > 0') }} as has_reference_purchase
    from session_days
    group by event_date, user_id
),

-- The user's previous active date, and previous date of each kind, within lookback_days: a
-- window counts a user on its first day of that kind inside the window.
previous_dates as (
    select
        u.event_date,
        u.user_id,
        max(e.event_date) as previous_day,
        max(case when e.has_purchase then e.event_date end) as previous_purchase_day,
        max(case when e.has_reference_event then e.event_date end) as previous_reference_event_day,
        max(case when e.has_reference_purchase then e.event_date end) as previous_reference_purchase_day
    from user_days as u
    inner join ({{ lookback_rows('user_days', ['event_date', 'user_id', 'has_purchase', 'has_reference_event',
                                               'has_reference_purchase']) }}) as e
        on e.user_id = u.user_id
    where {{ within_lookback('e.event_date', 'u.event_date') }}
    group by u.event_date, u.user_id
),

final as (
    select
        u.*,
        p.previous_day,
        p.previous_purchase_day,
        p.previous_reference_event_day,
        p.previous_reference_purchase_day
    from user_days as u
    left join previous_dates as p on p.event_date = u.event_date and p.user_id = u.user_id
)

select * from final {{ storage_order('event_date') }}
