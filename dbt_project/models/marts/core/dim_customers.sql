with

customers as (

    select * from {{ ref('stg_shop__customers') }}

),

countries as (

    select * from {{ ref('countries') }}

),

channels as (

    select * from {{ ref('channels') }}

),

order_summary as (

    select * from {{ ref('int_customers__order_summary') }}

),

session_summary as (

    select * from {{ ref('int_customers__session_summary') }}

),

final as (

    select
        customers.customer_id,
        customers.email_hash,
        customers.country_code,
        countries.country_name,
        countries.region,
        customers.acquisition_channel,
        channels.channel_group as acquisition_channel_group,
        customers.signed_up_at,
        cast(customers.signed_up_at as date) as signup_date,
        cast(date_trunc('month', customers.signed_up_at) as date) as cohort_month,
        order_summary.first_order_at,
        order_summary.last_order_at,
        coalesce(order_summary.lifetime_orders, 0) as lifetime_orders,
        coalesce(order_summary.lifetime_orders_not_cancelled, 0) as lifetime_orders_not_cancelled,
        coalesce(order_summary.cancelled_orders, 0) as cancelled_orders,
        coalesce(order_summary.returned_orders, 0) as returned_orders,
        order_summary.first_cancelled_or_returned_order_at,
        cast(coalesce(order_summary.lifetime_revenue, 0) as decimal(18, 2)) as lifetime_revenue,
        coalesce(session_summary.lifetime_sessions, 0) as lifetime_sessions,
        session_summary.first_session_at,
        session_summary.last_session_at,
        order_summary.customer_id is not null as has_ordered,
        customers.updated_at

    from customers
    left join countries on customers.country_code = countries.country_code
    left join channels on customers.acquisition_channel = channels.channel
    left join order_summary on customers.customer_id = order_summary.customer_id
    left join session_summary on customers.customer_id = session_summary.customer_id

)

select * from final
