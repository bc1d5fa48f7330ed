with

products as (

    select * from {{ ref('stg_shop__products') }}

),

order_items as (

    select * from {{ ref('fct_order_items') }}

),

sales as (

    select
        product_id,
        count(distinct order_id) filter (where not is_cancelled) as orders,
        coalesce(sum(quantity) filter (where not is_cancelled), 0) as units_sold,
        sum(line_revenue) as revenue
    from order_items
    group by product_id

),

final as (

    select
        products.product_id,
        products.product_name,
        products.category,
        products.unit_price,
        products.unit_cost,
        products.unit_price - products.unit_cost as unit_margin,
        round((products.unit_price - products.unit_cost) / nullif(products.unit_price, 0), 4)
            as margin_rate,
        coalesce(sales.orders, 0) as orders,
        coalesce(sales.units_sold, 0) as units_sold,
        cast(coalesce(sales.revenue, 0) as decimal(18, 2)) as revenue,
        products.updated_at

    from products
    left join sales on products.product_id = sales.product_id

)

select * from final
