-- check: partition_matches_manifest
-- checks: the run date's events partition holds exactly the manifest's rows_valid rows
-- materialized: check
-- Returns one row when the counts differ or the date has no manifest.
with manifests as (
    select * from manifests where event_date = @run_date
),

loaded as (
    select count(*) as n_loaded from events where event_date = @run_date
),

compared as (
    select
        @run_date as event_date,
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
