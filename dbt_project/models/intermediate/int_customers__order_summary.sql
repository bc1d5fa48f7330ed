-- One row per customer who ever ordered: lifetime order counts and revenue.

with

orders as (

    select * from {{ ref('stg_shop__orders') }}

),

order_outcomes as (

    -- revenue as fct_orders defines it: the order total unless the order ended cancelled
    select
        customer_id,
        ordered_at,
        status = 'cancelled' as is_cancelled,
        status = 'returned' as is_returned,
        case when status = 'cancelled' then 0 else order_total end as revenue
    from orders

),

final as (

    select
        customer_id,
        min(ordered_at) as first_order_at,
        max(ordered_at) as last_order_at,
        count(*) as lifetime_orders,
        count(*) filter (where not is_cancelled) as lifetime_orders_not_cancelled,
        count(*) filter (where is_cancelled) as cancelled_orders,
        count(*) filter (where is_returned) as returned_orders,
        min(ordered_at) filter (
            where is_cancelled or is_returned
        ) as first_cancelled_or_returned_order_at,
        cast(sum(revenue) as decimal(18, 2)) as lifetime_revenue

    from order_outcomes
    group by customer_id

)

select * from final
