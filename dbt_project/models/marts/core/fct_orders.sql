{{ incremental_config('order_id') }}

{#-
    Incremental: an order is rebuilt whenever a new version of it, a new line or a new payment
    was loaded after the watermark (see macros/incremental.sql), so late orders, status
    corrections and refunds land on the same row a full refresh would produce.
-#}

with

orders as (

    select * from {{ ref('stg_shop__orders') }}

),

order_items as (

    select * from {{ ref('stg_shop__order_items') }}

),

payments as (

    select * from {{ ref('stg_shop__payments') }}

),

orders_to_build as (

    select * from orders
    {{ where_changed_since_watermark([
        ('order_id', ref('stg_shop__orders')),
        ('order_id', ref('stg_shop__order_items')),
        ('order_id', ref('stg_shop__payments')),
    ]) }}

),

item_totals as (

    select
        order_id,
        count(*) as line_count,
        sum(quantity) as item_count,
        max(_loaded_at) as _loaded_at
    from order_items
    where order_id in (select orders_to_build.order_id from orders_to_build)
    group by order_id

),

payment_totals as (

    select
        order_id,
        sum(amount) filter (where amount > 0) as amount_paid,
        -sum(amount) filter (where amount < 0) as amount_refunded,
        max(_loaded_at) as _loaded_at
    from payments
    where order_id in (select orders_to_build.order_id from orders_to_build)
    group by order_id

),

final as (

    select
        orders.order_id,
        orders.customer_id,
        orders.session_id,
        orders.ordered_at,
        orders.order_date,
        orders.status,
        orders.channel,
        orders.country_code,
        orders.order_total,
        coalesce(item_totals.item_count, 0) as item_count,
        coalesce(item_totals.line_count, 0) as line_count,
        orders.status = 'cancelled' as is_cancelled,
        orders.status = 'returned' as is_returned,
        case when orders.status = 'cancelled' then 0 else orders.order_total end
            as revenue,
        cast(coalesce(payment_totals.amount_paid, 0) as decimal(12, 2)) as amount_paid,
        cast(coalesce(payment_totals.amount_refunded, 0) as decimal(12, 2)) as amount_refunded,
        orders.updated_at,
        greatest(orders._loaded_at, item_totals._loaded_at, payment_totals._loaded_at)
            as _loaded_at

    from orders_to_build as orders
    left join item_totals on orders.order_id = item_totals.order_id
    left join payment_totals on orders.order_id = payment_totals.order_id

)

select * from final
