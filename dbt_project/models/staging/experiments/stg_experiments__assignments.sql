with

latest_versions as (

    {{ keep_latest_version(
        ['experiment_id', 'customer_id'], 'assigned_at', source('experiments', 'assignments')
    ) }}

),

final as (

    select
        experiment_id,
        customer_id,
        lower(variant) as variant,
        assigned_at,
        _loaded_at,
        _source_file

    from latest_versions

)

select * from final
