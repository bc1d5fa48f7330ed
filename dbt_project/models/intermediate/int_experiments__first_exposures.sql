-- One row per experiment and exposed customer: the first exposure and when its session began.

with

exposures as (

    select * from {{ ref('stg_experiments__exposures') }}

),

sessions as (

    select * from {{ ref('stg_web__sessions') }}

),

first_exposures as (

    select
        experiment_id,
        customer_id,
        min(exposed_at) as first_exposed_at,
        arg_min(session_id, exposed_at) as exposure_session_id,
        count(*) as exposures
    from exposures
    group by experiment_id, customer_id

),

final as (

    select
        first_exposures.experiment_id,
        first_exposures.customer_id,
        first_exposures.first_exposed_at,
        first_exposures.exposure_session_id,
        first_exposures.exposures,
        -- orders count from the exposure's session on; fall back to the exposure time
        coalesce(sessions.started_at, first_exposures.first_exposed_at)
            as exposure_session_started_at

    from first_exposures
    left join sessions on first_exposures.exposure_session_id = sessions.session_id

)

select * from final
