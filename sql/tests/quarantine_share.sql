{#- the description also lives here: dbt's partial parsing drops YAML patches of singular tests -#}
{{ config(meta={'description': 'each checked date kept valid rows, and the cleaning job quarantined at most 5% of the rows it read (var max_quarantine_share)'}) }}
-- Each checked date kept valid rows, and the cleaning job quarantined at most max_quarantine_share
-- (5%) of the rows it read; more means a damaged export (ids written as floats, shifted
-- columns), and the row says what to do about its largest quarantine reason.
with manifests as (
    select * from {{ source('shopflow', 'manifests') }}
    where event_date in {{ date_list(check_dates()) }}
),

reasons as (
    select event_date, reason, n_rows
    from {{ source('shopflow', 'manifest_quarantine') }}
    where event_date in {{ date_list(check_dates()) }} and n_rows > 0
),

ranked_reasons as (
    select event_date, reason, row_number() over (partition by event_date order by n_rows desc, reason) as reason_rank
    from reasons
),

top_reason as (
    select event_date, reason from ranked_reasons where reason_rank = 1
),

shares as (
    select
        m.event_date,
        m.rows_in,
        m.rows_valid,
        m.rows_quarantined,
        round({{ safe_ratio('m.rows_quarantined', 'm.rows_in') }}, 4) as quarantined_share,
        t.reason as top_reason
    from manifests as m
    left join top_reason as t on t.event_date = m.event_date
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
    where rows_valid = 0 or rows_quarantined > {{ var('max_quarantine_share') }} * rows_in
)

select * from violations
