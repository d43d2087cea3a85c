{%- set windows = as_of_windows() -%}
{{ config(**replace_dates_config('as_of_date', windows | map('first') | list)) }}
-- Grain: one row per as_of_date, scope, dimension, event type and rank (the top 10 items of the
-- trailing window ending on as_of_date). Keys: as_of_date, scope, dimension, event_type,
-- item_rank. A run replaces only the snapshots it builds.
-- dimension is one of: category, sub_category, product (the events columns split from
-- category_code, taken as they are, as the reference did), brand, product_id. Events whose item
-- is unknown (null) are not ranked but stay in n_type_events, so share_of_events is a share of
-- all events of that type; share_of_known_events leaves the unknowns out. Ties rank by item.
with snapshots as (
    {{ as_of_windows_relation() }}
),

item_days as {{ not_materialized() }} (
    select * from {{ ref('int_item_days') }}
    where event_date between {{ date_literal(windows | map(attribute=1) | min) }}
        and {{ date_literal(windows | map('first') | max) }}
),

-- Each snapshot sums the per-day counts of its window (int_item_days counted each date once).
-- Products are summed on their integer key alone, both scopes in one pass: the brand and
-- category_code of a product are looked up below for the few that can rank (grouping half a
-- million products of a 30-day window by the strings too was most of this model's time).
product_counts as (
    select
        w.as_of_date,
        w.window_start_date,
        d.event_type,
        d.product_id,
        cast(sum(d.n_events) as {{ int_type() }}) as n_all,
        cast({{ sum_where('d.n_events', 'd.is_reference_row') }} as {{ int_type() }}) as n_reference
    from snapshots as w
    inner join item_days as d on d.event_date between w.window_start_date and w.as_of_date
    group by w.as_of_date, w.window_start_date, d.event_type, d.product_id
),

product_scoped as (
    select as_of_date, window_start_date, 'all' as scope, event_type, product_id, n_all as n_events
    from product_counts
    union all
    select as_of_date, window_start_date, 'reference_filter' as scope, event_type, product_id, n_reference as n_events
    from product_counts
    where n_reference is not null
),

type_totals as (
    select as_of_date, scope, event_type, sum(n_events) as n_type_events
    from product_scoped
    group by as_of_date, scope, event_type
),

-- The events of the 10th product of each ranking: only the products with at least as many can
-- rank 10th or better (ties included), so only those are ranked.
product_floors as (
    select as_of_date, scope, event_type, {{ nth_largest('n_events', 10) }} as floor_events
    from product_scoped
    where product_id is not null
    group by as_of_date, scope, event_type
),

product_candidates as (
    select p.*
    from product_scoped as p
    inner join product_floors as f
        on f.as_of_date = p.as_of_date and f.scope = p.scope and f.event_type = p.event_type
    where p.product_id is not null and p.n_events >= f.floor_events
),

-- A product id can carry an empty brand on some rows; the known value in the window wins.
product_items as (
    select
        c.as_of_date,
        c.window_start_date,
        c.scope,
        c.event_type,
        'product_id' as dimension,
        cast(c.product_id as {{ string_type() }}) as item,
        max(d.brand) as item_brand,
        max(d.category_code) as item_category_code,
        c.n_events
    from product_candidates as c
    inner join item_days as d
        on d.product_id = c.product_id and d.event_type = c.event_type
        and d.event_date between c.window_start_date and c.as_of_date
    where c.scope = 'all' or d.is_reference_row
    group by c.as_of_date, c.window_start_date, c.scope, c.event_type, c.product_id, c.n_events
),

-- category, sub_category and product are levels of category_code (the cleaning job splits
-- them; the derived_columns_consistent test holds it to that). The levels and brand do not need
-- the product: they are ranked from the per-day counts per category_code and brand, a few
-- thousand rows a day.
code_brand_counts as (
    select
        w.as_of_date,
        w.window_start_date,
        d.event_type,
        d.category_code,
        d.brand,
        min(d.category) as category,
        min(d.sub_category) as sub_category,
        min(d.product) as product,
        cast(sum(d.n_events) as {{ int_type() }}) as n_all,
        cast({{ sum_where('d.n_events', 'd.is_reference_row') }} as {{ int_type() }}) as n_reference
    from snapshots as w
    inner join {{ ref('int_category_brand_days') }} as d
        on d.event_date between w.window_start_date and w.as_of_date
    group by w.as_of_date, w.window_start_date, d.event_type, d.category_code, d.brand
),

code_brand_scoped as (
    select as_of_date, window_start_date, 'all' as scope, event_type, category, sub_category, product, brand,
        n_all as n_events
    from code_brand_counts
    union all
    select as_of_date, window_start_date, 'reference_filter' as scope, event_type, category, sub_category, product, brand,
        n_reference as n_events
    from code_brand_counts
    where n_reference is not null
),

level_items as (
    {%- for level in ['category', 'sub_category', 'product', 'brand'] %}
    {%- if not loop.first %}
    union all
    {%- endif %}
    select as_of_date, window_start_date, scope, event_type, '{{ level }}' as dimension, {{ level }} as item,
        sum(n_events) as n_events
    from code_brand_scoped
    where {{ level }} is not null
    group by as_of_date, window_start_date, scope, event_type, {{ level }}
    {%- endfor %}
),

known_totals as (
    select as_of_date, scope, event_type, 'product_id' as dimension, sum(n_events) as n_known_events
    from product_scoped
    where product_id is not null
    group by as_of_date, scope, event_type
    union all
    select as_of_date, scope, event_type, dimension, sum(n_events) as n_known_events
    from level_items
    group by as_of_date, scope, event_type, dimension
),

items as (
    select
        as_of_date, window_start_date, scope, event_type, dimension, item,
        cast(null as {{ string_type() }}) as item_brand,
        cast(null as {{ string_type() }}) as item_category_code,
        n_events
    from level_items
    union all
    select as_of_date, window_start_date, scope, event_type, dimension, item, item_brand, item_category_code, n_events
    from product_items
),

ranked as (
    select
        *,
        row_number() over (
            partition by as_of_date, scope, event_type, dimension order by n_events desc, item
        ) as item_rank
    from items
),

final as (
    select
        r.as_of_date,
        r.window_start_date,
        r.scope,
        r.dimension,
        r.event_type,
        r.item_rank,
        r.item,
        r.item_brand,
        r.item_category_code,
        r.n_events,
        t.n_type_events,
        k.n_known_events,
        {{ safe_ratio('r.n_events', 't.n_type_events') }} as share_of_events,
        {{ safe_ratio('r.n_events', 'k.n_known_events') }} as share_of_known_events,
        {{ safe_ratio(
            'sum(r.n_events) over (partition by r.as_of_date, r.scope, r.event_type, r.dimension order by r.item_rank)',
            't.n_type_events'
        ) }} as cumulative_share_of_events
    from ranked as r
    inner join type_totals as t
        on t.as_of_date = r.as_of_date and t.scope = r.scope and t.event_type = r.event_type
    inner join known_totals as k
        on k.as_of_date = r.as_of_date and k.scope = r.scope and k.event_type = r.event_type
        and k.dimension = r.dimension
    where r.item_rank <= 10
)

select * from final
