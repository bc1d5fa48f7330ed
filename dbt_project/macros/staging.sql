{#-
    Helpers for the staging layer.

    Raw tables keep every delivered version of a record (exact re-deliveries and corrections),
    plus the lineage columns `_source_file`, `_file_hash` and `_loaded_at` written at ingestion.
-#}

{#- One row per primary key of `relation` (all its columns): the latest version by the
    incremental key, then the most recently loaded delivery, then the later file name (ties
    between identical re-deliveries). `where` (optional, on the relation's columns) must keep or
    drop all versions of a key together, as the incremental models' "keys changed since the
    watermark" filters do, so it cannot change which version wins.

    The result is that of `qualify row_number() over (partition by <key> order by ...) = 1` on
    the whole relation, computed without that window over all of it: DuckDB's window operator
    cannot spill, and over raw.web__events (10M rows at scale 10) it needed ~2 GB. Keys seen once
    (nearly all) pass through an anti-join; only the versions of keys seen more than once go
    through the window. Key columns match with `is not distinct from`, so null keys group as
    `partition by` groups them. The relation is read directly, three times, not through a CTE of
    the model: DuckDB would materialise such a CTE (all columns of all rows) to read it again.
-#}
{% macro keep_latest_version(primary_key, incremental_key, relation, where=none) -%}
    {%- set keys = [primary_key] if primary_key is string else primary_key -%}
    {%- set versions -%}
        {%- if where -%}
            (select * from {{ relation }} where {{ where }})
        {%- else -%}
            {{ relation }}
        {%- endif -%}
    {%- endset -%}
    {%- set same_key -%}
        {%- for key in keys -%}
            {{ ' and ' if not loop.first }}versions.{{ key }} is not distinct from repeated_keys.{{ key }}
        {%- endfor -%}
    {%- endset -%}
    with repeated_keys as materialized (
        select {{ keys | join(', ') }}
        from {{ versions }} as versions
        group by {{ keys | join(', ') }}
        having count(*) > 1
    )

    select versions.*
    from {{ versions }} as versions
    anti join repeated_keys on {{ same_key }}

    union all

    select * from (
        select versions.*
        from {{ versions }} as versions
        semi join repeated_keys on {{ same_key }}
        qualify row_number() over (
            partition by {{ keys | join(', ') }}
            order by {{ incremental_key }} desc, _loaded_at desc, _source_file desc
        ) = 1
    )
{%- endmacro %}

{#- Pseudonymise an e-mail address: SHA-256 of its lower-cased form (hex). -#}
{% macro hash_pii(column) -%}
    sha256(lower({{ column }}))
{%- endmacro %}
