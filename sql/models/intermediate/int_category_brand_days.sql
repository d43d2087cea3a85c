{{ config(**replace_dates_config('event_date', event_dates())) }}
-- Grain: one row per event date, event type, reference flag, category_code and brand. Keys:
-- event_date, event_type, is_reference_row, category_code, brand. Incremental: a run replaces
-- only the event dates it touches.
-- int_item_days without the product: the few thousand rows a day that mart_top_items ranks
-- categories, their levels and brands from, so a snapshot does not group the window's
-- per-product rows by these strings again (that was a third of its time at 30 days).
with item_days as (
    select * from {{ ref('int_item_days') }}
    where {{ in_event_dates('event_date') }}
),

category_brand_days as (
    select
        event_date,
        event_type,
        is_reference_row,
        category_code,
        brand,
        min(category) as category,
        min(sub_category) as sub_category,
        min(product) as product,
        cast(sum(n_events) as {{ int_type() }}) as n_events
    from item_days
    group by event_date, event_type, is_reference_row, category_code, brand
)

select * from category_brand_days {{ storage_order('event_date') }}
