-- model: mart_top_items
-- grain: one row per as_of_date, scope, dimension, event type and rank (the top 10 items of
--   the trailing window of @window_days days ending on @run_date)
-- keys: as_of_date, scope, dimension, event_type, item_rank
-- materialized: partition(as_of_date = @run_date)
-- dimension is one of: category, sub_category, product (the events columns split from
-- category_code, taken as they are, as the reference did), brand, product_id. Events whose item
-- is unknown (null) are not ranked but stay in n_type_events, so share_of_events is a share of
-- all events of that type; share_of_known_events leaves the unknowns out. Ties rank by item.
with events as (
    select * from stg_events
),

window_events as (
    select *
    from events
    where event_date between date_sub(@run_date, interval @window_days - 1 day) and @run_date
),

-- The costly step: one pass over the window's events. Its key is kept short (the category
-- levels are joined back from code_levels below), which halves its time.
product_counts as (
    select
        event_type,
        is_reference_row,
        product_id,
        category_code,
        brand,
        count(*) as n_events
    from window_events
    group by event_type, is_reference_row, product_id, category_code, brand
),

-- category, sub_category and product are levels of category_code (the cleaning job splits
-- them; the derived_columns_consistent check holds it to that).
code_levels as (
    select
        category_code,
        min(category) as category,
        min(sub_category) as sub_category,
        min(product) as product
    from window_events
    where category_code is not null
    group by category_code
),

product_levels as (
    select
        c.event_type,
        c.is_reference_row,
        c.product_id,
        c.category_code,
        c.brand,
        l.category,
        l.sub_category,
        l.product,
        c.n_events
    from product_counts as c
    left join code_levels as l on l.category_code = c.category_code
),

scoped_counts as (
    select
        scope,
        event_type,
        product_id,
        category,
        sub_category,
        product,
        brand,
        category_code,
        n_events
    from product_levels
    cross join unnest(['all', 'reference_filter']) as scope
    where scope = 'all' or is_reference_row
),

type_totals as (
    select scope, event_type, sum(n_events) as n_type_events
    from scoped_counts
    group by scope, event_type
),

items as (
    select scope, event_type, 'category' as dimension, category as item,
        cast(null as string) as item_brand, cast(null as string) as item_category_code, n_events
    from scoped_counts
    union all
    select scope, event_type, 'sub_category' as dimension, sub_category as item,
        cast(null as string) as item_brand, cast(null as string) as item_category_code, n_events
    from scoped_counts
    union all
    select scope, event_type, 'product' as dimension, product as item,
        cast(null as string) as item_brand, cast(null as string) as item_category_code, n_events
    from scoped_counts
    union all
    select scope, event_type, 'brand' as dimension, brand as item,
        cast(null as string) as item_brand, cast(null as string) as item_category_code, n_events
    from scoped_counts
    union all
    select scope, event_type, 'product_id' as dimension, cast(product_id as string) as item,
        brand as item_brand, category_code as item_category_code, n_events
    from scoped_counts
),

item_totals as (
    select
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
    group by scope, event_type, dimension, item
),

known_totals as (
    select scope, event_type, dimension, sum(n_events) as n_known_events
    from item_totals
    group by scope, event_type, dimension
),

ranked as (
    select
        *,
        row_number() over (
            partition by scope, event_type, dimension order by n_events desc, item
        ) as item_rank
    from item_totals
),

final as (
    select
        @run_date as as_of_date,
        date_sub(@run_date, interval @window_days - 1 day) as window_start_date,
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
        safe_divide(r.n_events, t.n_type_events) as share_of_events,
        safe_divide(r.n_events, k.n_known_events) as share_of_known_events,
        safe_divide(
            sum(r.n_events) over (
                partition by r.scope, r.event_type, r.dimension order by r.item_rank
            ),
            t.n_type_events
        ) as cumulative_share_of_events
    from ranked as r
    inner join type_totals as t on t.scope = r.scope and t.event_type = r.event_type
    inner join known_totals as k
        on k.scope = r.scope and k.event_type = r.event_type and k.dimension = r.dimension
    where r.item_rank <= 10
)

select * from final
