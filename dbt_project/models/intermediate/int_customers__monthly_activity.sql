-- One row per customer and calendar month in which they ordered or visited logged in.

with

orders as (

    select * from {{ ref('stg_shop__orders') }}

),

sessions as (

    select * from {{ ref('stg_web__sessions') }}
    where customer_id is not null

),

monthly_orders as (

    -- orders and revenue as fct_orders defines them: a cancelled order counts for neither
    select
        customer_id,
        date_trunc('month', order_date) as activity_month,
        count(*) filter (where status != 'cancelled') as orders,
        sum(case when status = 'cancelled' then 0 else order_total end) as revenue
    from orders
    group by all

),

monthly_sessions as (

    select
        customer_id,
        date_trunc('month', session_date) as activity_month,
        count(*) as sessions
    from sessions
    group by all

),

final as (

    select
        coalesce(monthly_orders.customer_id, monthly_sessions.customer_id) as customer_id,
        cast(coalesce(monthly_orders.activity_month, monthly_sessions.activity_month) as date)
            as activity_month,
        coalesce(monthly_orders.orders, 0) as orders,
        cast(coalesce(monthly_orders.revenue, 0) as decimal(18, 2)) as revenue,
        coalesce(monthly_sessions.sessions, 0) as sessions

    from monthly_orders
    full outer join monthly_sessions
        on monthly_orders.customer_id = monthly_sessions.customer_id
        and monthly_orders.activity_month = monthly_sessions.activity_month

)

select * from final
