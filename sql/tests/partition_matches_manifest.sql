{#- the description also lives here: dbt's partial parsing drops YAML patches of singular tests -#}
{{ config(meta={'description': 'the run date\'s events partition holds exactly the manifest\'s rows_valid rows'}) }}
-- The run date's events partition holds exactly the manifest's rows_valid rows. One row when
-- the counts differ or the date has no manifest.
with manifests as (
    select * from {{ source('shopflow', 'manifests') }}
    where event_date = {{ date_literal(run_date()) }}
),

loaded as (
    select count(*) as n_loaded from {{ source('shopflow', 'events') }}
    where event_date = {{ date_literal(run_date()) }}
),

compared as (
    select
        {{ date_literal(run_date()) }} as event_date,
        l.n_loaded,
        m.rows_valid as n_expected,
        m.event_date is not null as has_manifest
    from loaded as l
    left join manifests as m on true
),

violations as (
    select * from compared
    where not has_manifest or n_loaded != n_expected
)

select * from violations
