{{ config(**replace_dates_config('event_date', event_dates())) }}
-- Grain: one row per event date, user and session (a session that crosses midnight UTC has a
-- row on each date). Keys: event_date, user_id, session_key. Incremental: a run replaces only
-- the event dates it touches (var event_dates, default the run date).
-- previous_session_date: the session's latest earlier date within lookback_days, else null
-- (macros/lookback.sql); plan_marts rebuilds the dates after a late or reloaded date.
-- The one pass over events that the funnel, the period summary and RFM share. Revenue stays
-- NUMERIC here: exact sums do not depend on the order rows are added in. session_key is a
-- 64-bit fingerprint of user_session: this table only groups and counts sessions, and storing
-- the 36-character UUIDs made it several times slower to write.
with events as (
    select * from {{ ref('stg_events') }}
    where {{ in_event_dates('event_date') }}
),

keyed as (
    select
        *,
        {{ fingerprint64('user_session') }} as session_key,
        cast(price as {{ numeric_type() }}) as price_exact
    from events
),

session_days as (
    select
        event_date,
        event_weekday,
        user_id,
        session_key,
        count(*) as n_events,
        {{ count_where("event_type = 'view'") }} as n_views,
        {{ count_where("event_type = 'cart'") }} as n_carts,
        {{ count_where("event_type = 'remove_from_cart'") }} as n_removes,
        {{ count_where("event_type = 'purchase'") }} as n_purchases,
        coalesce({{ sum_where('price_exact', "event_type = 'purchase'") }}, 0) as revenue,
        {{ count_where('is_reference_row') }} as n_reference_events,
        {{ count_where("is_reference_row and event_type = 'view'") }} as n_reference_views,
        {{ count_where("is_reference_row and event_type = 'cart'") }} as n_reference_carts,
        {{ count_where("is_reference_row and event_type = 'remove_from_cart'") }} as n_reference_removes,
        {{ count_where("is_reference_row and event_type = 'purchase'") }} as n_reference_purchases,
        coalesce({{ sum_where('price_exact', "is_reference_row and event_type = 'purchase'") }}, 0)
            as reference_revenue
    from keyed
    group by event_date, event_weekday, user_id, session_key
),

-- The session's previous date (within lookback_days): a window counts the session on its
-- first row inside the window, the row whose previous date is before the window or null.
previous_dates as (
    select s.event_date, s.user_id, s.session_key, max(e.event_date) as previous_session_date
    from session_days as s
    inner join ({{ lookback_rows('session_days', ['event_date', 'user_id', 'session_key'], key='session_key') }}) as e
        on e.user_id = s.user_id and e.session_key = s.session_key
    where {{ within_lookback('e.event_date', 's.event_date') }}
    group by s.event_date, s.user_id, s.session_key
),

final as (
    select s.*, p.previous_session_date
    from session_days as s
    left join previous_dates as p
        on p.event_date = s.event_date and p.user_id = s.user_id and p.session_key = s.session_key
)

select * from final {{ storage_order('event_date') }}
