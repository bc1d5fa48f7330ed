"""The assembled platform: what it defines, and that every asset leads to the file that defines it.

The folder loader (``analytics_platform/definitions.py``) finds the definitions by convention, so
a concern dropped or registered twice would show here, not as an import error. The code-reference
test checks the README's name → file rule ("Where things are") on every asset.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from analytics_platform.definitions import defs

ROOT = Path(__file__).resolve().parents[1]

ASSETS = {
    # ingestion: one per contract, and the uncontracted datasets
    "raw/experiments__assignments", "raw/experiments__exposures", "raw/marketing__ad_spend",
    "raw/shop__customers", "raw/shop__order_items", "raw/shop__orders", "raw/shop__payments",
    "raw/shop__products", "raw/uncontracted", "raw/web__events", "raw/web__sessions",
    # dbt: seeds, snapshot, staging, intermediate, marts
    "channels", "countries", "metric_thresholds", "customers_snapshot",
    "stg_experiments__assignments", "stg_experiments__exposures", "stg_marketing__ad_spend",
    "stg_shop__customers", "stg_shop__order_items", "stg_shop__orders", "stg_shop__payments",
    "stg_shop__products", "stg_web__events", "stg_web__sessions",
    "int_customers__monthly_activity", "int_customers__order_summary", "int_customers__session_summary",
    "int_experiments__first_exposures",
    "customer_cohorts", "dim_customers", "dim_products", "experiment_outcomes", "fct_daily_revenue",
    "fct_order_items", "fct_orders", "fct_sessions", "funnel_daily",
    # ML
    "customer_features", "churn_model", "churn_scores", "revenue_forecast", "metric_anomalies", "experiment_results",
    # reports
    "reports/business_overview", "reports/data_quality_report", "reports/dataset_profile",
    "reports/dataset_model", "reports/dataset_dashboard", "reports/suggested_contract",
}
JOBS = ["churn_retrain", "dbt_build", "dbt_unit_tests", "export_marts", "gdpr_erase_customer", "warehouse_maintenance"]
SENSORS = ["alert_on_check_failure", "alert_on_run_failure", "churn_retrain_sensor", "dbt_automation",
           "dbt_full_suite_after_change", "downstream_automation", "landing_sensor", "run_recovery",
           "uncontracted_profile_sensor"]
SCHEDULES = ["daily_dbt_build", "warehouse_maintenance_schedule", "weekly_dbt_full_refresh"]

# The README's map: an asset's group names the folder its file is in...
FOLDER_OF_GROUP = {
    "ingestion": "analytics_platform/defs/ingestion",
    "reference": "dbt_project/seeds",
    "snapshots": "dbt_project/snapshots",
    "staging": "dbt_project/models/staging",
    "intermediate": "dbt_project/models/intermediate",
    "marts": "dbt_project/models",  # the layer of models/marts/ and of any folder that names none
    "ml": "ml_assets",
    "reports": "analytics_platform/defs/reports",
}


def _graph():
    return defs.resolve_asset_graph()


def test_the_platform_defines_its_50_assets():
    keys = {key.to_user_string() for key in _graph().get_all_asset_keys()}
    assert len(ASSETS) == 50
    assert keys == ASSETS, f"missing {sorted(ASSETS - keys)}, unexpected {sorted(keys - ASSETS)}"


def test_jobs_sensors_and_schedules_are_each_defined_once():
    dg.Definitions.validate_loadable(defs)
    jobs = sorted(job.name for job in defs.resolve_all_job_defs() if not job.name.startswith("__"))
    assert jobs == JOBS
    assert sorted(sensor.name for sensor in defs.sensors) == SENSORS
    assert sorted(schedule.name for schedule in defs.schedules) == SCHEDULES
    assert set(defs.resources) == {"warehouse", "dbt"}
    assert defs.executor is dg.in_process_executor


def _code_references(node) -> list:
    value = node.metadata.get("dagster/code_references")
    return list(value.code_references) if value else []


def _defines(reference, name: str, op_name: str) -> bool:
    """The file is named after the asset (a dbt model, seed or snapshot, a raw table's contract),
    or the reference's line starts the function that computes it."""
    path = Path(reference.file_path)
    if path.suffix != ".py":
        return path.stem == name
    lines = path.read_text().splitlines()[(reference.line_number or 1) - 1:]
    first_def = next((line.strip() for line in lines if line.lstrip().startswith("def ")), "")
    return first_def.startswith((f"def {name}(", f"def {op_name}("))


@pytest.mark.parametrize("asset", sorted(ASSETS))
def test_every_asset_links_to_the_file_that_defines_it(asset: str):
    graph = _graph()
    key = dg.AssetKey.from_user_string(asset)
    node = graph.get(key)
    references = _code_references(node)
    assert references, f"{asset} has no code reference ('Open in editor' would show nothing)"
    for reference in references:
        assert isinstance(reference, dg.LocalFileCodeReference), reference
        path = Path(reference.file_path)
        assert path.is_file() and ROOT in path.parents, f"{asset}: {path} is not a file of the repository"
    first = Path(references[0].file_path).relative_to(ROOT).as_posix()
    folder = FOLDER_OF_GROUP[node.group_name]
    assert first.startswith(folder + "/"), f"{asset} (group {node.group_name}) → {first}, not under {folder}/"
    op_name = defs.resolve_assets_def(key).node_def.name
    assert _defines(references[0], key.path[-1], op_name), f"{asset} → {first}, which does not define it"
    if key.path[0] == "raw" and key.path[-1] != "uncontracted":
        contract = f"analytics_platform/defs/ingestion/contracts/{key.path[-1]}.yaml"
        assert first == contract, f"{asset} should lead to its contract first"
    if node.group_name == "ml":
        assert Path(first).name == "assets.py", f"{asset}: ML assets live in ml_assets/<family>/assets.py"


def test_loading_the_definitions_opens_nothing_and_stays_light(tmp_path: Path):
    """Every run process loads all definitions: no warehouse connection, no ML, chart or browser libraries."""
    heavy = ["sklearn", "scipy", "pandas", "matplotlib", "mlflow", "skops", "playwright", "plotly"]
    code = f"import json, sys, analytics_platform.definitions; print(json.dumps([m for m in {heavy!r} if m in sys.modules]))"
    state = tmp_path / "state"
    # A connection creates the warehouse (catalog and data folder) on first use.
    env = {**os.environ, "ANALYTICS_STATE_DIR": str(state), "ANALYTICS_WAREHOUSE_DIR": str(state / "warehouse")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT, env=env).stdout
    assert json.loads(out.strip().splitlines()[-1]) == []
    assert not (state / "warehouse").exists(), "loading the definitions connected to the warehouse"


def test_the_folder_loader_builds_no_component_catalog():
    """``dg.load_defs`` would add the JSON schema of every installed dg component type (~0.3 s of
    CPU in every run process); the project defines no components."""
    from dagster.components.core.load_defs import PLUGIN_COMPONENT_TYPES_JSON_METADATA_KEY

    assert PLUGIN_COMPONENT_TYPES_JSON_METADATA_KEY not in (defs.metadata or {})
