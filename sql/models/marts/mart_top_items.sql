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
-- The key stays short: the category levels are joined back from code_levels below (grouping
-- 30 snapshots of a month's backfill by the level strings too took a third longer).
product_counts as (
    select
        w.as_of_date,
        w.window_start_date,
        d.event_type,
        d.is_reference_row,
        d.product_id,
        d.category_code,
        d.brand,
        cast(sum(d.n_events) as {{ int_type() }}) as n_events
    from snapshots as w
    inner join item_days as d on d.event_date between w.window_start_date and w.as_of_date
    group by w.as_of_date, w.window_start_date, d.event_type, d.is_reference_row, d.product_id, d.category_code, d.brand
),

-- category, sub_category and product are levels of category_code (the cleaning job splits
-- them; the derived_columns_consistent test holds it to that).
daily_code_levels as (
    select
        event_date,
        category_code,
        min(category) as category,
        min(sub_category) as sub_category,
        min(product) as product
    from item_days
    where category_code is not null
    group by event_date, category_code
),

code_levels as (
    select
        w.as_of_date,
        d.category_code,
        min(d.category) as category,
        min(d.sub_category) as sub_category,
        min(d.product) as product
    from snapshots as w
    inner join daily_code_levels as d on d.event_date between w.window_start_date and w.as_of_date
    group by w.as_of_date, d.category_code
),

scoped_counts as (
    select 'all' as scope, * from product_counts
    union all
    select 'reference_filter' as scope, * from product_counts where is_reference_row
),

type_totals as (
    select as_of_date, scope, event_type, sum(n_events) as n_type_events
    from scoped_counts
    group by as_of_date, scope, event_type
),

-- The category levels and brand do not need the product: they are ranked from counts per
-- category_code and brand, a few thousand rows per snapshot instead of one per product.
code_brand_totals as (
    select as_of_date, window_start_date, scope, event_type, category_code, brand, sum(n_events) as n_events
    from scoped_counts
    group by as_of_date, window_start_date, scope, event_type, category_code, brand
),

code_brand_counts as (
    select
        c.as_of_date,
        c.window_start_date,
        c.scope,
        c.event_type,
        c.brand,
        l.category,
        l.sub_category,
        l.product,
        c.n_events
    from code_brand_totals as c
    left join code_levels as l on l.as_of_date = c.as_of_date and l.category_code = c.category_code
),

items as (
    {%- for level in ['category', 'sub_category', 'product', 'brand'] %}
    select as_of_date, window_start_date, scope, event_type, '{{ level }}' as dimension, {{ level }} as item,
        cast(null as {{ string_type() }}) as item_brand, cast(null as {{ string_type() }}) as item_category_code, n_events
    from code_brand_counts
    union all
    {%- endfor %}
    select as_of_date, window_start_date, scope, event_type, 'product_id' as dimension,
        cast(product_id as {{ string_type() }}) as item, brand as item_brand, category_code as item_category_code, n_events
    from scoped_counts
),

item_totals as (
    select
        as_of_date,
        window_start_date,
        scope,
        event_type,
        dimension,
        item,
        -- A product id can carry an empty brand on some rows; the known value wins.
        max(item_brand) as item_brand,
        max(item_category_code) as item_category_code,
        sum(n_events) as n_events
    from items
    where item is not null
    group by as_of_date, window_start_date, scope, event_type, dimension, item
),

known_totals as (
    select as_of_date, scope, event_type, dimension, sum(n_events) as n_known_events
    from item_totals
    group by as_of_date, scope, event_type, dimension
),

-- The events of the 10th item of each ranking: only the items with at least as many can rank
-- 10th or better (ties included), so only those are ranked (ranking every product of a 30-day
-- window was most of this model's time).
rank_floors as (
    select as_of_date, scope, event_type, dimension, {{ nth_largest('n_events', 10) }} as floor_events
    from item_totals
    group by as_of_date, scope, event_type, dimension
),

ranked as (
    select
        t.*,
        row_number() over (
            partition by t.as_of_date, t.scope, t.event_type, t.dimension order by t.n_events desc, t.item
        ) as item_rank
    from item_totals as t
    inner join rank_floors as f
        on f.as_of_date = t.as_of_date and f.scope = t.scope and f.event_type = t.event_type
        and f.dimension = t.dimension
    where t.n_events >= f.floor_events
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
