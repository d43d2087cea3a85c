{#- the description also lives here: dbt's partial parsing drops YAML patches of singular tests -#}
{{ config(meta={'description': 'each checked date\'s funnel counts are non-negative and nest (purchasing sessions within sessions, event types adding up to all events, session conversion and cart abandonment at most 1)'}) }}
-- Each checked date's funnel counts are non-negative and nest (purchasing sessions within sessions,
-- event types adding up to all events, rates within [0, 1] where they are shares).
with funnel as (
    select * from {{ ref('mart_daily_funnel') }}
    where event_date in {{ date_list(check_dates()) }}
),

violations as (
    select scope, event_date, n_events, n_views, n_carts, n_removes, n_purchases, n_sessions, n_users,
        conversion_rate_sessions, cart_abandonment_rate
    from funnel
    where n_events < 0 or n_views < 0 or n_carts < 0 or n_removes < 0 or n_purchases < 0
        or n_users < 0 or n_sessions < 0 or n_viewing_sessions < 0 or n_carting_sessions < 0
        or n_purchasing_sessions < 0 or n_purchasing_users < 0 or revenue < 0
        or n_views + n_carts + n_removes + n_purchases != n_events
        or n_purchasing_sessions > n_sessions
        or n_purchasing_users > n_users
        or conversion_rate_sessions > 1
        or cart_abandonment_rate > 1
)

select * from violations
