{{ config(**replace_dates_config('event_date', event_dates())) }}
-- Grain: one row per event date, event type, reference flag and item (product_id with the
-- category_code and brand it carried that day). Keys: event_date, event_type,
-- is_reference_row, product_id, category_code, brand. Incremental: a run replaces only the
-- event dates it touches.
-- The one pass over events that mart_top_items needs: counted once when a date is loaded, so
-- a snapshot sums a few hundred thousand rows per day of its window instead of grouping the
-- window's events again (that pass was most of a daily run once the window held 30 days).
-- category, sub_category and product are levels of category_code (the cleaning job splits
-- them; the derived_columns_consistent test holds it to that), so they do not split a group.
with events as (
    select * from {{ ref('stg_events') }}
    where {{ in_event_dates('event_date') }}
),

item_days as (
    select
        event_date,
        event_type,
        is_reference_row,
        product_id,
        category_code,
        brand,
        min(category) as category,
        min(sub_category) as sub_category,
        min(product) as product,
        count(*) as n_events
    from events
    group by event_date, event_type, is_reference_row, product_id, category_code, brand
)

select * from item_days {{ storage_order('event_date') }}
