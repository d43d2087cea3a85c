-- model: int_session_days
-- grain: one row per event date, user and session (a session that crosses midnight UTC has
--   a row on each date)
-- keys: event_date, user_id, session_key
-- materialized: table
-- The one pass over events that the funnel, the period summary and RFM share. Counts and
-- revenue are kept twice: for all events and for the reference filter's rows only
-- (is_reference_row), so each mart derives both scopes without scanning events again.
-- Revenue stays NUMERIC here: exact sums do not depend on the order rows are added in.
-- session_key is a 64-bit fingerprint of user_session: this table only groups and counts
-- sessions, and storing the 36-character UUIDs made it several times slower to write. Two
-- sessions of one user would have to collide in 63 bits to be miscounted.
with events as (
    select * from stg_events
),

keyed as (
    select
        *,
        farm_fingerprint(user_session) as session_key
    from events
),

session_days as (
    select
        event_date,
        event_weekday,
        user_id,
        session_key,
        count(*) as n_events,
        countif(event_type = 'view') as n_views,
        countif(event_type = 'cart') as n_carts,
        countif(event_type = 'remove_from_cart') as n_removes,
        countif(event_type = 'purchase') as n_purchases,
        coalesce(sum(if(event_type = 'purchase', cast(price as numeric), null)), 0) as revenue,
        countif(is_reference_row) as n_reference_events,
        countif(is_reference_row and event_type = 'view') as n_reference_views,
        countif(is_reference_row and event_type = 'cart') as n_reference_carts,
        countif(is_reference_row and event_type = 'remove_from_cart') as n_reference_removes,
        countif(is_reference_row and event_type = 'purchase') as n_reference_purchases,
        coalesce(
            sum(if(is_reference_row and event_type = 'purchase', cast(price as numeric), null)), 0
        ) as reference_revenue
    from keyed
    group by event_date, event_weekday, user_id, session_key
)

select * from session_days
