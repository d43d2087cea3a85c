-- check: not_null_keys
-- checks: the key and required columns of the run date's events (event_time, event_type,
--   product_id, price, user_id, user_session) are never null; category_id may be null (empty
--   in the export, or nulled by `shopflow land --repair-float-ids` when it lost precision)
-- materialized: check
-- Returns one row per violating event.
with events as (
    select * from events where event_date = @run_date
),

violations as (
    select
        event_time,
        event_type,
        product_id,
        category_id,
        price,
        user_id,
        user_session
    from events
    where event_time is null
        or event_type is null
        or product_id is null
        or price is null
        or user_id is null
        or user_session is null
)

select * from violations
