"""dbt's unit tests (SQL logic against fixed inputs) run as the ``dbt_unit_tests`` job (the UI, and
here in CI); platform builds exclude them."""

from __future__ import annotations

import json

import dagster as dg

from analytics_platform.defs.transform.assets import DbtBuildConfig, dbt_build_args
from analytics_platform.defs.transform.project import DBT_PROJECT, dbt_resource
from analytics_platform.defs.transform.unit_tests import dbt_unit_tests
from analytics_platform.resources import WarehouseResource


def test_every_dbt_unit_test_passes_in_the_ui_job(built):
    unit_tests = json.loads(DBT_PROJECT.manifest_path.read_text())["unit_tests"]
    assert len(unit_tests) >= 5
    result = dbt_unit_tests.execute_in_process(
        resources={"warehouse": WarehouseResource(state_dir=str(built.state)), "dbt": dbt_resource()},
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    statuses = result.output_for_node("run_dbt_unit_tests")
    assert sorted(statuses) == sorted(uid.split(".")[-1] for uid in unit_tests)
    assert set(statuses.values()) == {"pass"}


def test_platform_runs_leave_unit_tests_out():
    args = dbt_build_args(DbtBuildConfig())
    assert args[:1] == ["build"] and args[args.index("--exclude-resource-type") + 1] == "unit_test"
