{#- the description also lives here: dbt's partial parsing drops YAML patches of singular tests -#}
{{ config(meta={'description': 'the funnel row of the run date (scope all) counts exactly the events loaded for it, so marts built before a reload are caught'}) }}
-- The funnel row of the run date (scope all) counts exactly the events loaded for it, so marts
-- built before a reload are caught.
with loaded as (
    select count(*) as n_loaded from {{ source('shopflow', 'events') }}
    where event_date = {{ date_literal(run_date()) }}
),

funnel as (
    select sum(n_events) as n_in_funnel
    from {{ ref('mart_daily_funnel') }}
    where event_date = {{ date_literal(run_date()) }} and scope = 'all'
),

violations as (
    select {{ date_literal(run_date()) }} as event_date, l.n_loaded, coalesce(f.n_in_funnel, 0) as n_in_funnel
    from loaded as l
    cross join funnel as f
    where l.n_loaded != coalesce(f.n_in_funnel, 0)
)

select * from violations
