{#- Fails when `model` and `compare_model` (optionally filtered) have a different row count.
    The single failing row shows both counts. -#}
{% test row_count_matches(model, compare_model, compare_where=None) %}

with

model_rows as (
    select count(*) as row_count from {{ model }}
),

compare_rows as (
    select count(*) as row_count from {{ compare_model }}
    {% if compare_where %} where {{ compare_where }} {% endif %}
)

select
    model_rows.row_count as model_row_count,
    compare_rows.row_count as compare_row_count
from model_rows
cross join compare_rows
where model_rows.row_count != compare_rows.row_count

{% endtest %}
