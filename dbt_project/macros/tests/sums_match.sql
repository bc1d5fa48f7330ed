{#- Fails when sum(`column_name`) of `model` differs from sum(`compare_column`) of
    `compare_model` by more than `tolerance` (reconciles an aggregate with its detail). -#}
{% test sums_match(
    model, column_name, compare_model, compare_column, compare_where=None, tolerance=0
) %}

with

model_total as (
    select coalesce(sum({{ column_name }}), 0) as total from {{ model }}
),

compare_total as (
    select coalesce(sum({{ compare_column }}), 0) as total from {{ compare_model }}
    {% if compare_where %} where {{ compare_where }} {% endif %}
)

select
    model_total.total as model_total,
    compare_total.total as compare_total
from model_total
cross join compare_total
where abs(model_total.total - compare_total.total) > {{ tolerance }}

{% endtest %}
