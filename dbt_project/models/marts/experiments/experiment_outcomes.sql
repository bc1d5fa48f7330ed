-- Experiment × variant × customer: exposure and what the customer did after it.

with

assignments as (

    select * from {{ ref('stg_experiments__assignments') }}

),

first_exposures as (

    select * from {{ ref('int_experiments__first_exposures') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

sessions as (

    select * from {{ ref('stg_web__sessions') }}

),

orders_after_exposure as (

    -- an order counts when its session began at or after the exposure's session
    select
        first_exposures.experiment_id,
        first_exposures.customer_id,
        count(*) as orders,
        count(*) filter (where not orders.is_cancelled) as orders_not_cancelled,
        sum(orders.revenue) as revenue,
        min(orders.ordered_at) as first_order_at
    from first_exposures
    inner join orders on first_exposures.customer_id = orders.customer_id
    left join sessions on orders.session_id = sessions.session_id
    where
        coalesce(sessions.started_at, orders.ordered_at)
        >= first_exposures.exposure_session_started_at
    group by all

),

final as (

    select
        assignments.experiment_id,
        assignments.variant,
        assignments.customer_id,
        assignments.assigned_at,
        first_exposures.first_exposed_at,
        first_exposures.exposure_session_id,
        first_exposures.customer_id is not null as is_exposed,
        coalesce(orders_after_exposure.orders, 0) as orders_after_exposure,
        coalesce(orders_after_exposure.orders_not_cancelled, 0)
            as orders_not_cancelled_after_exposure,
        coalesce(orders_after_exposure.orders, 0) > 0 as converted_after_exposure,
        cast(coalesce(orders_after_exposure.revenue, 0) as decimal(18, 2))
            as revenue_after_exposure,
        orders_after_exposure.first_order_at as first_order_after_exposure_at,
        date_diff(
            'second', first_exposures.first_exposed_at, orders_after_exposure.first_order_at
        ) / 86400.0 as days_to_first_order

    from assignments
    left join first_exposures
        on assignments.experiment_id = first_exposures.experiment_id
        and assignments.customer_id = first_exposures.customer_id
    left join orders_after_exposure
        on assignments.experiment_id = orders_after_exposure.experiment_id
        and assignments.customer_id = orders_after_exposure.customer_id

)

select * from final
