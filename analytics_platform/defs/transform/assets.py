"""The dbt project as Dagster assets: every model, seed and snapshot, with dbt tests as checks.

One ``@dbt_assets`` definition covers the whole project: a raw load makes every model above it
out of date, so the eager run after a load selects staging, the three incremental facts and the
tables built from them in one ``dbt build`` (Dagster passes the selection, dbt orders it). What
keeps such a run cheap is inside dbt: ``fct_orders``, ``fct_order_items`` and ``fct_sessions``
only rebuild the keys whose raw rows arrived after their watermark; the remaining tables are
small aggregates of them. ``full_refresh`` rebuilds the incremental facts from scratch.

dbt tests become asset checks; tests of severity ``error`` are blocking: dbt skips the models
below a failing one and the step fails (an alert follows), ``warn`` tests only report.
"""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource, DbtProject, dbt_assets
from pydantic import Field

from analytics_platform.defs.transform.project import (
    DBT_PROJECT,
    dbt_environment,
    ensure_manifest,
    keep_partial_parse,
    run_target_path,
)
from analytics_platform.defs.transform.translator import AnalyticsDbtTranslator
from analytics_platform.resources import WAREHOUSE_POOL, WarehouseResource

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


def build_dbt_assets(manifest: Path, project: DbtProject) -> dg.AssetsDefinition:
    """The ``dbt_models`` assets of a dbt project (the platform's; tests build grown copies)."""

    @dbt_assets(
        manifest=manifest,
        project=project,
        dagster_dbt_translator=TRANSLATOR,
        name="dbt_models",
        pool=WAREHOUSE_POOL,
    )
    def dbt_models(
        context: dg.AssetExecutionContext, config: DbtBuildConfig, dbt: DbtCliResource, warehouse: WarehouseResource
    ) -> Iterator[Any]:
        settings = warehouse.settings
        target = run_target_path(settings, f"{context.op_execution_context.op.name}-{context.run.run_id[:8]}")
        with dbt_environment(settings):
            invocation = dbt.cli(dbt_build_args(config), context=context, target_path=target)
        try:
            yield from invocation.stream()
        finally:
            keep_partial_parse(settings, target)

    return dbt_models


dbt_models = build_dbt_assets(ensure_manifest(), DBT_PROJECT)
