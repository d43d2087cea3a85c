{#- the description also lives here: dbt's partial parsing drops YAML patches of singular tests -#}
{{ config(meta={'description': 'the funnel row of each checked date (scope all) counts exactly the events loaded for it, so marts built before a reload are caught'}) }}
-- The funnel row of each checked date (scope all) counts exactly the events loaded for it, so
-- marts built before a reload are caught.
with checked as (
    {{ dates_relation(check_dates()) }}
),

loaded as (
    select event_date, count(*) as n_loaded
    from {{ source('shopflow', 'events') }}
    where event_date in {{ date_list(check_dates()) }}
    group by event_date
),

funnel as (
    select event_date, sum(n_events) as n_in_funnel
    from {{ ref('mart_daily_funnel') }}
    where event_date in {{ date_list(check_dates()) }} and scope = 'all'
    group by event_date
),

violations as (
    select c.event_date, coalesce(l.n_loaded, 0) as n_loaded, coalesce(f.n_in_funnel, 0) as n_in_funnel
    from checked as c
    left join loaded as l on l.event_date = c.event_date
    left join funnel as f on f.event_date = c.event_date
    where coalesce(l.n_loaded, 0) != coalesce(f.n_in_funnel, 0)
)

select * from violations
