"""The translator's conventions, the manifest, and the merged definitions."""

from __future__ import annotations

import dagster as dg

from analytics_platform.defs.ingestion import definitions as ingestion
from analytics_platform.defs.quality import definitions as quality
from analytics_platform.defs.transform import definitions as transform
from analytics_platform.defs.transform.assets import dbt_models
from analytics_platform.defs.transform.project import DBT_PROJECT, manifest_is_current
from analytics_platform.resources import WarehouseResource


def specs() -> dict[str, dg.AssetSpec]:
    return {s.key.to_user_string(): s for s in dbt_models.specs}


def test_manifest_is_prepared_and_current():
    assert DBT_PROJECT.manifest_path.exists() and manifest_is_current()


def test_asset_keys_groups_owners_and_kinds():
    all_specs = specs()
    assert {"stg_shop__orders", "fct_orders", "dim_customers", "countries", "customers_snapshot"} <= set(all_specs)
    groups = {key: spec.group_name for key, spec in all_specs.items()}
    assert groups["stg_web__events"] == "staging"
    assert groups["int_customers__monthly_activity"] == "intermediate"
    assert groups["fct_daily_revenue"] == "marts"
    assert groups["channels"] == "reference"
    assert groups["customers_snapshot"] == "snapshots"
    assert all(spec.owners == ["team:analytics-engineering"] for spec in all_specs.values())
    assert all_specs["stg_shop__orders"].kinds == {"dbt", "duckdb", "view"}
    assert all_specs["fct_orders"].kinds == {"dbt", "duckdb", "table"}
    assert all_specs["fct_orders"].tags["dbt/materialized"] == "incremental"
    assert "final state" in all_specs["fct_orders"].description
    assert "dagster/code_references" in all_specs["fct_orders"].metadata


def test_sources_are_the_ingestion_raw_tables():
    deps = {d.asset_key for d in specs()["stg_shop__orders"].deps}
    assert deps == {dg.AssetKey(["raw", "shop__orders"])}
    defs = dg.Definitions.merge(ingestion.defs, transform.defs, quality.defs,
                                dg.Definitions(resources={"warehouse": WarehouseResource()}))
    graph = defs.resolve_asset_graph()
    raw_keys = {k for k in graph.get_all_asset_keys() if k.path[0] == "raw"}
    # every raw table feeds a staging model, and nothing dbt reads is left unconnected
    for key in raw_keys - {dg.AssetKey(["raw", "uncontracted"])}:
        assert any(child.path[0].startswith("stg_") for child in graph.get(key).child_keys), key
    assert graph.get(dg.AssetKey(["raw", "web__events"])).is_materializable


def test_automation_and_freshness():
    all_specs = specs()
    assert all(all_specs[k].automation_condition is not None for k in all_specs)
    assert all_specs["fct_daily_revenue"].freshness_policy is not None
    assert all_specs["stg_shop__orders"].freshness_policy is None
    # dbt tests are checks on their model
    check_names = {c.name for c in dbt_models.check_specs if c.asset_key == dg.AssetKey(["fct_orders"])}
    assert "unique_fct_orders_order_id" in check_names


def test_definitions_load_with_jobs_schedules_and_sensors():
    defs = dg.Definitions.merge(ingestion.defs, transform.defs, quality.defs,
                                dg.Definitions(resources={"warehouse": WarehouseResource()}))
    dg.Definitions.validate_loadable(defs)
    assert defs.resolve_job_def("dbt_build") and defs.resolve_job_def("gdpr_erase_customer")
    assert {s.name for s in defs.schedules} >= {"daily_dbt_build", "weekly_dbt_full_refresh"}
    assert {s.name for s in defs.sensors} >= {"alert_on_run_failure", "alert_on_check_failure", "dbt_automation"}
    automation = defs.resolve_sensor_def("dbt_automation")
    assert automation.default_status == dg.DefaultSensorStatus.RUNNING
    assert all(op.pool == "warehouse" for op in [dbt_models.op])
