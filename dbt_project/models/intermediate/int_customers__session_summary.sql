-- One row per customer who ever visited logged in: visit counts and recency.

with

sessions as (

    select * from {{ ref('stg_web__sessions') }}
    where customer_id is not null

),

final as (

    select
        customer_id,
        count(*) as lifetime_sessions,
        min(started_at) as first_session_at,
        max(started_at) as last_session_at

    from sessions
    group by customer_id

)

select * from final
