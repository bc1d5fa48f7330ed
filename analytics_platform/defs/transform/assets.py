"""The dbt project as Dagster assets: every model, seed and snapshot, with dbt tests as checks.

One ``@dbt_assets`` definition covers the whole project: a raw load makes every model above it
out of date, so the eager run after a load selects staging, the three incremental facts and the
tables built from them in one ``dbt build`` (Dagster passes the selection, dbt orders it). What
keeps such a run cheap is inside dbt: ``fct_orders``, ``fct_order_items`` and ``fct_sessions``
only rebuild the keys whose raw rows arrived after their watermark; the remaining tables are
small aggregates of them. ``full_refresh`` rebuilds the incremental facts from scratch.

dbt tests become asset checks; tests of severity ``error`` are blocking: dbt skips the models
below a failing one and the step fails (an alert follows), ``warn`` tests only report. A subset
run also runs the relationships tests of its models (:func:`relationships_test_selection`), and
its row-level tests read only the rows loaded since the full suite last passed (``test_scope.py``).
Tables' materializations carry their row count (``row_counts.py``).
"""

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource, DbtProject, dbt_assets
from dagster_dbt.asset_utils import DAGSTER_DBT_UNIQUE_ID_METADATA_KEY
from pydantic import Field

from analytics_platform.defs.transform import test_scope
from analytics_platform.defs.transform.project import (
    DBT_PROJECT,
    dbt_environment,
    ensure_manifest,
    keep_partial_parse,
    run_target_path,
)
from analytics_platform.defs.transform.row_counts import with_row_counts
from analytics_platform.defs.transform.translator import AnalyticsDbtTranslator
from analytics_platform.resources import WarehouseResource, warehouse_pool

TRANSLATOR = AnalyticsDbtTranslator()


class DbtBuildConfig(dg.Config):
    """How to run ``dbt build`` for the selected assets."""

    full_refresh: bool = Field(default=False, description="Rebuild incremental models (and seeds) from scratch.")
    incremental_lookback_minutes: int | None = Field(
        default=None,
        description="Override the look-back margin of incremental models (dbt var; default in dbt_project.yml).",
    )


def dbt_build_args(config: DbtBuildConfig) -> list[str]:
    # dbt unit tests check SQL logic against fixed inputs: they belong to CI
    # (tests/transform/test_dbt_unit_tests.py), not to every refresh of the data.
    args = ["build", "--exclude-resource-type", "unit_test"]
    if config.full_refresh:
        args.append("--full-refresh")
    if config.incremental_lookback_minutes is not None:
        args += ["--vars", json.dumps({"incremental_lookback_minutes": config.incremental_lookback_minutes})]
    return args


def relationships_test_selection(context: dg.AssetExecutionContext, manifest: Mapping[str, Any]) -> list[str]:
    """``--select`` for the relationships tests among the checks of a subset run.

    The run's tests follow dbt's cautious indirect selection (a test runs when every node it reads
    is selected: ``dbt_environment``), which skips a relationships test whose other side (the
    customers a new order points to, a seed) is not rebuilt in this run: exactly the run in which
    a bad key arrives. That other side is current as it is, so such a test runs (selected by its
    FQN) with the model it checks. A full build selects every test anyway.
    """
    if not context.is_subset:
        return []
    unique_ids = (
        (context.assets_def.get_spec_for_check_key(key).metadata or {}).get(DAGSTER_DBT_UNIQUE_ID_METADATA_KEY)
        for key in context.selected_asset_check_keys
    )
    tests = (manifest["nodes"].get(unique_id) or {} for unique_id in unique_ids)
    fqns = sorted(".".join(t["fqn"]) for t in tests if (t.get("test_metadata") or {}).get("name") == "relationships")
    return ["--select", " ".join(fqns)] if fqns else []


def build_dbt_assets(manifest: Path, project: DbtProject) -> dg.AssetsDefinition:
    """The ``dbt_models`` assets of a dbt project (the platform's; tests build grown copies)."""
    manifest_json = json.loads(manifest.read_text())

    @dbt_assets(
        manifest=manifest,
        project=project,
        dagster_dbt_translator=TRANSLATOR,
        name="dbt_models",
        pool=warehouse_pool("dbt"),
    )
    def dbt_models(
        context: dg.AssetExecutionContext, config: DbtBuildConfig, dbt: DbtCliResource, warehouse: WarehouseResource
    ) -> Iterator[Any]:
        settings = warehouse.settings
        target = run_target_path(settings, f"{context.op_execution_context.op.name}-{context.run.run_id[:8]}")
        full_suite, started = not context.is_subset, test_scope.utc_now()
        project_hash = test_scope.manifest_hash(manifest)
        loaded_after = test_scope.loaded_after(settings, project_hash, full_suite)
        if loaded_after:
            context.log.info(f"row-level tests read the rows loaded after {loaded_after} (test_scope.py)")
        with dbt_environment(settings, context.run.run_id, tests_loaded_after=loaded_after):
            args = dbt_build_args(config) + relationships_test_selection(context, manifest_json)
            invocation = dbt.cli(args, context=context, target_path=target)
        try:
            yield from with_row_counts(invocation.stream(), manifest_json, warehouse, context.log)
        finally:
            keep_partial_parse(settings, target)
        if full_suite:  # reached only when no blocking test failed
            test_scope.record_full_suite(settings, project_hash, started)

    return dbt_models


dbt_models = build_dbt_assets(ensure_manifest(), DBT_PROJECT)
