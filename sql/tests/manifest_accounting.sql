{#- the description also lives here: dbt's partial parsing drops YAML patches of singular tests -#}
{{ config(meta={'description': 'each checked date\'s manifest accounts for every input row (rows_in = rows_valid + duplicates_dropped + rows_quarantined) and the per-reason counts add up to rows_quarantined'}) }}
-- Each checked date's manifest accounts for every input row: rows_in = rows_valid +
-- duplicates_dropped + rows_quarantined, and the per-reason counts add up to rows_quarantined.
with manifests as (
    select * from {{ source('shopflow', 'manifests') }}
    where event_date in {{ date_list(check_dates()) }}
),

quarantine as (
    select event_date, sum(n_rows) as n_quarantined_by_reason
    from {{ source('shopflow', 'manifest_quarantine') }}
    where event_date in {{ date_list(check_dates()) }}
    group by event_date
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
    left join quarantine as q on q.event_date = m.event_date
    where m.rows_in != m.rows_valid + m.duplicates_dropped + m.rows_quarantined
        or q.n_quarantined_by_reason is null
        or q.n_quarantined_by_reason != m.rows_quarantined
)

select * from violations
