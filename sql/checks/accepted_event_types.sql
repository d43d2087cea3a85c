-- check: accepted_event_types
-- checks: every event of the run date has an accepted event_type (view, cart,
--   remove_from_cart, purchase)
-- materialized: check
-- Returns one row per unaccepted event type, with its count.
with events as (
    select * from events where event_date = @run_date
),

violations as (
    select event_type, count(*) as n_events
    from events
    where event_type is null
        or event_type not in ('view', 'cart', 'remove_from_cart', 'purchase')
    group by event_type
)

select * from violations
