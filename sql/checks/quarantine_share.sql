-- check: quarantine_share
-- checks: the run date kept valid rows, and the cleaning job quarantined at most 5% of the
--   rows it read; more means a damaged export (ids written as floats, shifted columns), and
--   the row says what to do about its largest quarantine reason
-- materialized: check
-- Returns the manifest row of a date with no valid rows or more than 5% quarantined.
with manifests as (
    select * from manifests where event_date = @run_date
),

reasons as (
    select reason, n_rows
    from manifest_quarantine
    where event_date = @run_date and n_rows > 0
),

top_reason as (
    select reason
    from reasons
    qualify row_number() over (order by n_rows desc, reason) = 1
),

shares as (
    select
        m.event_date,
        m.rows_in,
        m.rows_valid,
        m.rows_quarantined,
        round(safe_divide(m.rows_quarantined, m.rows_in), 4) as quarantined_share,
        t.reason as top_reason
    from manifests as m
    left join top_reason as t on true
),

violations as (
    select
        *,
        case
            when top_reason = 'non_integer_id'
                then 'ids written as floats (5802432.0)? land the export again with shopflow land --repair-float-ids'
            when top_reason is not null
                then 'read lake/quarantine for this date: the export is damaged or in another layout'
            else 'the landing file of this date holds no events'
        end as what_to_do
    from shares
    where rows_valid = 0 or rows_quarantined > 0.05 * rows_in
)

select * from violations
