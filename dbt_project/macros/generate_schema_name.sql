{#- Schemas are layer names (staging, marts, …), not "<target schema>_<layer>": a model's schema
    is its `schema` config if set, else its layer (`meta.layer`, dbt_project.yml). -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- set meta = node.config.meta or {} -%}
    {%- set layer = meta.get('layer') if node.resource_type == 'model' else none -%}
    {{ (custom_schema_name or layer or target.schema) | trim }}
{%- endmacro %}
