-- check: funnel_counts_non_negative
-- checks: the run date's funnel counts are non-negative and nest (purchasing sessions within
--   sessions, event types adding up to all events)
-- materialized: check
-- Returns the funnel rows that break a rule.
with funnel as (
    select * from mart_daily_funnel where event_date = @run_date
),

violations as (
    select scope, event_date, n_events, n_views, n_carts, n_removes, n_purchases, n_sessions, n_users
    from funnel
    where n_events < 0 or n_views < 0 or n_carts < 0 or n_removes < 0 or n_purchases < 0
        or n_users < 0 or n_sessions < 0 or n_viewing_sessions < 0 or n_carting_sessions < 0
        or n_purchasing_sessions < 0 or n_purchasing_users < 0 or revenue < 0
        or n_views + n_carts + n_removes + n_purchases != n_events
        or n_purchasing_sessions > n_sessions
        or n_purchasing_users > n_users
)

select * from violations
