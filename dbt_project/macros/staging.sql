{#-
    Helpers for the staging layer.

    Raw tables keep every delivered version of a record (exact re-deliveries and corrections),
    plus the lineage columns `_source_file`, `_file_hash` and `_loaded_at` written at ingestion.
-#}

{#- Keep one row per primary key: the latest version by the incremental key, then the most
    recently loaded delivery, then the later file name (ties between identical re-deliveries). -#}
{% macro keep_latest_version(primary_key, incremental_key) -%}
    qualify row_number() over (
        partition by {{ primary_key if primary_key is string else primary_key | join(', ') }}
        order by {{ incremental_key }} desc, _loaded_at desc, _source_file desc
    ) = 1
{%- endmacro %}

{#- Pseudonymise an e-mail address: SHA-256 of its lower-cased form (hex). -#}
{% macro hash_pii(column) -%}
    sha256(lower({{ column }}))
{%- endmacro %}
