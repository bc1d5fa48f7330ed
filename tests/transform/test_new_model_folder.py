"""An analytics engineer adds a folder of models over data that is already there, and the code
location reloads: the models follow the layer rule (group, schema, freshness), build on the
first automation tick after the reload, and their dbt tests run as checks."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass

import dagster as dg
import pytest
from dagster_dbt import DbtProject

from analytics_platform.defs.transform.assets import dbt_models
from analytics_platform.resources import WarehouseResource

from .grown_project import dbt_resource_for, grow_project, grown_dbt_assets
from .support import check_results, clone_state, query

LOYALTY = {
    "models/loyalty/loyalty_members.sql": """\
-- Customers with their revenue; repeat_revenue only for customers with three orders or more.

with

customers as (

    select * from {{ ref('dim_customers') }}

),

final as (

    select
        customer_id,
        lifetime_orders,
        case when lifetime_orders >= 3 then lifetime_revenue end as repeat_revenue
    from customers

)

select * from final
""",
    "models/loyalty/loyalty_members.yml": """\
version: 2

models:
  - name: loyalty_members
    description: One row per customer, with the revenue of repeat buyers.
    columns:
      - name: customer_id
        description: The customer.
        data_tests: [unique, not_null]
      - name: lifetime_orders
        description: Orders of the customer.
      - name: repeat_revenue
        description: Lifetime revenue of customers with three orders or more, else null.
        data_tests:
          - expression_is_true:
              arguments:
                expression: ">= 0"
""",
    "models/loyalty/loyalty_tiers.sql": """\
-- Customers per number of orders: a building block, hence the intermediate layer.

{{ config(meta={'layer': 'intermediate'}) }}

with

members as (

    select * from {{ ref('loyalty_members') }}

),

final as (

    select
        lifetime_orders,
        count(*) as customers
    from members
    group by lifetime_orders

)

select * from final
""",
    "models/loyalty/loyalty_tiers.yml": """\
version: 2

models:
  - name: loyalty_tiers
    description: Customers per number of orders.
    columns:
      - name: lifetime_orders
        description: Orders per customer.
        data_tests: [unique]
      - name: customers
        description: Customers with that many orders.
""",
}
NEW_MODELS = {"loyalty_members", "loyalty_tiers"}


@pytest.fixture(scope="module")
def grown(tmp_path_factory: pytest.TempPathFactory) -> tuple[DbtProject, dg.AssetsDefinition]:
    project = grow_project(tmp_path_factory.mktemp("grown") / "dbt_project", LOYALTY)
    return project, grown_dbt_assets(project)


def requested(result: dg.EvaluateAutomationConditionsResult) -> set[str]:
    return {r.key.to_user_string() for r in result.results if isinstance(r.key, dg.AssetKey) and r.true_subset.size}


def test_a_new_folder_follows_the_layer_rule(grown):
    project, assets = grown
    specs = {s.key.to_user_string(): s for s in assets.specs}
    members, tiers = specs["loyalty_members"], specs["loyalty_tiers"]
    # a folder dbt_project.yml does not mention is a marts folder...
    assert (members.group_name, members.kinds, members.freshness_policy is not None) == ("marts", {"dbt", "duckdb", "table"}, True)
    # ...and a model may name its own layer
    assert (tiers.group_name, tiers.freshness_policy) == ("intermediate", None)
    nodes = json.loads(project.manifest_path.read_text())["nodes"]
    schemas = {n["name"]: n["schema"] for n in nodes.values() if n["name"] in NEW_MODELS and n["resource_type"] == "model"}
    assert schemas == {"loyalty_members": "marts", "loyalty_tiers": "intermediate"}
    # their dbt tests are checks
    checks = {c.key.asset_key.to_user_string() for c in assets.check_specs}
    assert NEW_MODELS <= checks


@dataclass
class AfterReload:
    ticks: list[dg.EvaluateAutomationConditionsResult]
    run: dg.ExecuteInProcessResult | list  # [] when nothing was requested
    state: object
    seconds_to_request: float


@pytest.fixture(scope="module")
def after_reload(grown, built, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AfterReload]:
    project, assets = grown
    state = clone_state(built.state, tmp_path_factory.mktemp("reload") / "state")
    bound = {"warehouse": WarehouseResource(state_dir=str(state)), "dbt": dbt_resource_for(project)}
    before, after = dg.Definitions(assets=[dbt_models], resources=bound), dg.Definitions(assets=[assets], resources=bound)
    with dg.instance_for_test() as instance:
        # The platform before the reload: every asset materialized, the automation cursor set.
        for key in before.resolve_asset_graph().get_all_asset_keys():
            instance.report_runless_asset_event(dg.AssetMaterialization(key))
        ticks = [dg.evaluate_automation_conditions(defs=before, instance=instance)]
        started = time.monotonic()
        ticks.append(dg.evaluate_automation_conditions(defs=after, instance=instance, cursor=ticks[-1].cursor))
        seconds = time.monotonic() - started
        # The run the sensor launches for that tick: the requested models with their checks.
        due = sorted(requested(ticks[-1]))
        run = due and dg.materialize(
            [assets],
            selection=due,
            instance=instance,
            resources=bound,
            run_config={"ops": {"dbt_models": {"config": {}}}},
            raise_on_error=False,
        )
        ticks.append(dg.evaluate_automation_conditions(defs=after, instance=instance, cursor=ticks[-1].cursor))
        yield AfterReload(ticks, run, state, seconds)


def test_new_models_build_on_the_first_tick_after_the_reload(after_reload):
    assert requested(after_reload.ticks[0]) == set()
    assert requested(after_reload.ticks[1]) == NEW_MODELS
    assert after_reload.run.success
    built_keys = {e.asset_key.to_user_string() for e in after_reload.run.get_asset_materialization_events()}
    assert built_keys == NEW_MODELS
    assert {asset for asset, _ in check_results(after_reload.run)} == NEW_MODELS
    assert requested(after_reload.ticks[2]) == set()  # built: nothing more is due
    print(f"new models requested on tick 1 after the reload ({after_reload.seconds_to_request:.2f} s evaluation)")


def test_expression_is_true_lets_null_pass_like_dbt_utils(after_reload):
    nulls = query(after_reload.state, "SELECT count(*) AS n FROM marts.loyalty_members WHERE repeat_revenue IS NULL")["n"][0]
    assert nulls > 0  # the test met NULLs...
    checks = check_results(after_reload.run)
    assert checks[("loyalty_members", "expression_is_true_loyalty_members_repeat_revenue___0")]  # ...and passed
