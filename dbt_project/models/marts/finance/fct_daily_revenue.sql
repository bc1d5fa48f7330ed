-- Day × channel × country: orders and revenue (by order day), sessions and ad spend.

with

orders as (

    select * from {{ ref('fct_orders') }}

),

sessions as (

    select * from {{ ref('fct_sessions') }}

),

ad_spend as (

    select * from {{ ref('stg_marketing__ad_spend') }}

),

orders_ranked as (

    select
        *,
        row_number() over (partition by customer_id order by ordered_at, order_id) = 1
            as is_first_order
    from orders

),

daily_orders as (

    select
        order_date as date_day,
        channel,
        country_code,
        count(*) as orders,
        count(*) filter (where not is_cancelled) as orders_not_cancelled,
        count(*) filter (where is_cancelled) as cancelled_orders,
        count(*) filter (where is_returned) as returned_orders,
        sum(revenue) as revenue,
        sum(item_count) filter (where not is_cancelled) as items_sold,
        count(distinct customer_id) filter (where not is_cancelled) as customers,
        count(*) filter (where is_first_order) as new_customers
    from orders_ranked
    group by all

),

daily_sessions as (

    select
        session_date as date_day,
        channel,
        country_code,
        count(*) as sessions,
        count(*) filter (where has_purchase) as converting_sessions
    from sessions
    group by all

),

daily_spend as (

    select
        spend_date as date_day,
        channel,
        country_code,
        sum(spend) as ad_spend,
        sum(impressions) as impressions,
        sum(clicks) as clicks
    from ad_spend
    group by all

),

cells as (

    select
        date_day,
        channel,
        country_code
    from daily_orders

    union

    select
        date_day,
        channel,
        country_code
    from daily_sessions

    union

    select
        date_day,
        channel,
        country_code
    from daily_spend

),

final as (

    select
        cells.date_day,
        cells.channel,
        cells.country_code,
        coalesce(daily_orders.orders, 0) as orders,
        coalesce(daily_orders.orders_not_cancelled, 0) as orders_not_cancelled,
        coalesce(daily_orders.cancelled_orders, 0) as cancelled_orders,
        coalesce(daily_orders.returned_orders, 0) as returned_orders,
        cast(coalesce(daily_orders.revenue, 0) as decimal(18, 2)) as revenue,
        coalesce(daily_orders.items_sold, 0) as items_sold,
        coalesce(daily_orders.customers, 0) as customers,
        coalesce(daily_orders.new_customers, 0) as new_customers,
        coalesce(daily_sessions.sessions, 0) as sessions,
        coalesce(daily_sessions.converting_sessions, 0) as converting_sessions,
        cast(coalesce(daily_spend.ad_spend, 0) as decimal(18, 2)) as ad_spend,
        coalesce(daily_spend.impressions, 0) as impressions,
        coalesce(daily_spend.clicks, 0) as clicks,
        round(daily_orders.revenue / nullif(daily_orders.orders_not_cancelled, 0), 2)
            as average_order_value,
        round(daily_orders.revenue / nullif(daily_spend.ad_spend, 0), 4) as return_on_ad_spend

    from cells
    left join daily_orders
        on cells.date_day = daily_orders.date_day
        and cells.channel = daily_orders.channel
        and cells.country_code = daily_orders.country_code
    left join daily_sessions
        on cells.date_day = daily_sessions.date_day
        and cells.channel = daily_sessions.channel
        and cells.country_code = daily_sessions.country_code
    left join daily_spend
        on cells.date_day = daily_spend.date_day
        and cells.channel = daily_spend.channel
        and cells.country_code = daily_spend.country_code

)

select * from final
