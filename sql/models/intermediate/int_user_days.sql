{{ config(**replace_dates_config('event_date', event_dates())) }}
-- Grain: one row per event date and user. Keys: event_date, user_id. Incremental: a run
-- replaces only the event dates it touches.
-- Which kinds of activity the user had that day, from int_session_days. The daily funnel counts
-- its users from these rows and the period summary counts each user once per window from them
-- (a user's day carries its next active day of each kind only there, as it depends on the
-- window's later dates).
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
)

select * from user_days
