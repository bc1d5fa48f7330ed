-- Monthly acquisition cohort × months since sign-up: retention and revenue.

with

customers as (

    select * from {{ ref('dim_customers') }}

),

activity as (

    select * from {{ ref('int_customers__monthly_activity') }}

),

cohort_sizes as (

    select
        cohort_month,
        count(*) as cohort_size
    from customers
    group by cohort_month

),

observed_months as (

    -- the months the warehouse has activity data for
    select
        min(activity_month) as first_month,
        max(activity_month) as last_month
    from activity

),

cohort_grid as (

    -- every cohort × every observed month from its sign-up month on, active or not
    select
        cohort_sizes.cohort_month,
        cohort_sizes.cohort_size,
        cast(unnest(generate_series(
            greatest(cohort_sizes.cohort_month, observed_months.first_month),
            observed_months.last_month,
            interval 1 month
        )) as date) as activity_month
    from cohort_sizes
    cross join observed_months

),

cohort_activity as (

    select
        customers.cohort_month,
        activity.activity_month,
        count(*) filter (where activity.orders > 0) as active_customers,
        count(*) filter (where activity.sessions > 0) as visiting_customers,
        sum(activity.orders) as orders,
        sum(activity.revenue) as revenue
    from activity
    inner join customers on activity.customer_id = customers.customer_id
    group by all

),

final as (

    select
        cohort_grid.cohort_month,
        cohort_grid.activity_month,
        cast(date_diff('month', cohort_grid.cohort_month, cohort_grid.activity_month) as integer)
            as months_since_signup,
        cohort_grid.cohort_size,
        coalesce(cohort_activity.active_customers, 0) as active_customers,
        coalesce(cohort_activity.visiting_customers, 0) as visiting_customers,
        coalesce(cohort_activity.active_customers, 0) / cohort_grid.cohort_size as retention_rate,
        coalesce(cohort_activity.orders, 0) as orders,
        cast(coalesce(cohort_activity.revenue, 0) as decimal(18, 2)) as revenue,
        cast(sum(coalesce(cohort_activity.revenue, 0)) over (
            partition by cohort_grid.cohort_month order by cohort_grid.activity_month
        ) as decimal(18, 2)) as cumulative_revenue,
        round(sum(coalesce(cohort_activity.revenue, 0)) over (
            partition by cohort_grid.cohort_month order by cohort_grid.activity_month
        ) / cohort_grid.cohort_size, 2) as cumulative_revenue_per_customer

    from cohort_grid
    left join cohort_activity
        on cohort_grid.cohort_month = cohort_activity.cohort_month
        and cohort_grid.activity_month = cohort_activity.activity_month

)

select * from final
