{#- the description also lives here: dbt's partial parsing drops YAML patches of singular tests -#}
{{ config(meta={'description': 'the run date\'s manifest accounts for every input row (rows_in = rows_valid + duplicates_dropped + rows_quarantined) and the per-reason counts add up to rows_quarantined'}) }}
-- The run date's manifest accounts for every input row: rows_in = rows_valid +
-- duplicates_dropped + rows_quarantined, and the per-reason counts add up to rows_quarantined.
with manifests as (
    select * from {{ source('shopflow', 'manifests') }}
    where event_date = {{ date_literal(run_date()) }}
),

quarantine as (
    select sum(n_rows) as n_quarantined_by_reason
    from {{ source('shopflow', 'manifest_quarantine') }}
    where event_date = {{ date_literal(run_date()) }}
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
