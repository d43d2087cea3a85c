-- check: unique_events
-- checks: no event of the run date appears twice (the cleaning job drops exact duplicates)
-- materialized: check
-- Returns one row per duplicated event with how often it occurs.
with events as (
    select * from events where event_date = @run_date
),

counted as (
    select
        event_time,
        event_type,
        product_id,
        category_id,
        category_code,
        brand,
        price,
        user_id,
        user_session,
        count(*) as n_copies
    from events
    group by event_time, event_type, product_id, category_id, category_code, brand, price, user_id, user_session
),

violations as (
    select * from counted where n_copies > 1
)

select * from violations
