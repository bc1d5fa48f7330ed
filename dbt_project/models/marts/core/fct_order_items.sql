{{ incremental_config('order_item_id') }}

{#-
    Incremental: a line is rebuilt when it, its order (status) or its product changed after the
    watermark, so a cancellation or a product correction reaches every line it affects.
-#}

with

order_items as (

    select * from {{ ref('stg_shop__order_items') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

products as (

    select * from {{ ref('stg_shop__products') }}

),

items_to_build as (

    select * from order_items
    {{ where_changed_since_watermark([
        ('order_item_id', ref('stg_shop__order_items')),
        ('order_id', ref('fct_orders')),
        ('product_id', ref('stg_shop__products')),
    ]) }}

),

final as (

    select
        items.order_item_id,
        items.order_id,
        orders.customer_id,
        items.product_id,
        products.category,
        orders.ordered_at,
        orders.order_date,
        orders.channel,
        orders.country_code,
        orders.status as order_status,
        orders.is_cancelled,
        items.quantity,
        items.unit_price,
        items.line_total,
        case when orders.is_cancelled then 0 else items.line_total end as line_revenue,
        greatest(items._loaded_at, orders._loaded_at, products._loaded_at) as _loaded_at

    from items_to_build as items
    -- inner join: a line whose order has not arrived yet waits for it (its order's load
    -- will select it again)
    inner join orders on items.order_id = orders.order_id
    left join products on items.product_id = products.product_id

)

select * from final
