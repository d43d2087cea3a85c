-- check: manifest_accounting
-- checks: the run date's manifest accounts for every input row: rows_in = rows_valid +
--   duplicates_dropped + rows_quarantined, and the per-reason counts add up to rows_quarantined
-- materialized: check
-- Returns the manifest row when its figures do not add up.
with manifests as (
    select * from manifests where event_date = @run_date
),

quarantine as (
    select sum(n_rows) as n_quarantined_by_reason
    from manifest_quarantine
    where event_date = @run_date
),

violations as (
    select
        m.event_date,
        m.rows_in,
        m.rows_valid,
        m.duplicates_dropped,
        m.rows_quarantined,
        q.n_quarantined_by_reason
    from manifests as m
    cross join quarantine as q
    where m.rows_in != m.rows_valid + m.duplicates_dropped + m.rows_quarantined
        or q.n_quarantined_by_reason is null
        or q.n_quarantined_by_reason != m.rows_quarantined
)

select * from violations
