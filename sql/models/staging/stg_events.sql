-- The reference analysis dropped rows with an empty category_code or brand before its month
-- overview; is_reference_row marks the rows that filter keeps, so every mart can show both.
with source as (
    select * from {{ source('shopflow', 'events') }}
),

renamed as (
    select
        event_time,
        event_date,
        event_hour,
        event_weekday,
        event_type,
        product_id,
        category_id,
        -- Unknowns are null in the lake; an empty string would dodge the filter below.
        nullif(category_code, '') as category_code,
        nullif(category, '') as category,
        nullif(sub_category, '') as sub_category,
        nullif(product, '') as product,
        nullif(brand, '') as brand,
        price,
        user_id,
        user_session
    from source
),

flagged as (
    select
        *,
        event_weekday in (6, 7) as is_weekend,
        category_code is not null and brand is not null as is_reference_row
    from renamed
)

select * from flagged
