{#- the description also lives here: dbt's partial parsing drops YAML patches of singular tests -#}
{{ config(meta={'description': 'each checked date\'s events partition holds exactly the manifest\'s rows_valid rows'}) }}
-- Each checked date's events partition holds exactly its manifest's rows_valid rows (a date
-- with no manifest, or no rows where the manifest has some, is a violation).
with checked as (
    {{ dates_relation(check_dates()) }}
),

manifests as (
    select * from {{ source('shopflow', 'manifests') }}
    where event_date in {{ date_list(check_dates()) }}
),

loaded as (
    select event_date, count(*) as n_loaded
    from {{ source('shopflow', 'events') }}
    where event_date in {{ date_list(check_dates()) }}
    group by event_date
),

compared as (
    select
        c.event_date,
        coalesce(l.n_loaded, 0) as n_loaded,
        m.rows_valid as n_expected,
        m.event_date is not null as has_manifest
    from checked as c
    left join loaded as l on l.event_date = c.event_date
    left join manifests as m on m.event_date = c.event_date
),

violations as (
    select * from compared
    where not has_manifest or n_loaded != n_expected
)

select * from violations
