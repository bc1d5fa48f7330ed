-- Day × channel: how many sessions reached each funnel step, and the step conversion rates.

with

sessions as (

    select * from {{ ref('fct_sessions') }}

),

step_counts as (

    select
        session_date as date_day,
        channel,
        count(*) as sessions,
        count(*) filter (where has_view) as sessions_with_view,
        count(*) filter (where has_add_to_cart) as sessions_with_add_to_cart,
        count(*) filter (where has_checkout) as sessions_with_checkout,
        count(*) filter (where has_purchase) as sessions_with_purchase
    from sessions
    group by all

),

final as (

    select
        date_day,
        channel,
        sessions,
        sessions_with_view,
        sessions_with_add_to_cart,
        sessions_with_checkout,
        sessions_with_purchase,
        sessions_with_view / nullif(sessions, 0) as view_rate,
        sessions_with_add_to_cart / nullif(sessions_with_view, 0) as add_to_cart_rate,
        sessions_with_checkout / nullif(sessions_with_add_to_cart, 0) as checkout_rate,
        sessions_with_purchase / nullif(sessions_with_checkout, 0) as purchase_rate,
        sessions_with_purchase / nullif(sessions, 0) as conversion_rate

    from step_counts

)

select * from final
