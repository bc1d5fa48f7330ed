with

latest_versions as (

    {{ keep_latest_version('exposure_id', 'exposed_at', source('experiments', 'exposures')) }}

),

final as (

    select
        exposure_id,
        experiment_id,
        customer_id,
        session_id,
        exposed_at,
        _loaded_at,
        _source_file

    from latest_versions

)

select * from final
