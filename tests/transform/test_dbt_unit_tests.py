"""dbt's unit tests (SQL logic against fixed inputs) run here, in CI: platform runs exclude them."""

from __future__ import annotations

import json

from analytics_platform.defs.transform.assets import DbtBuildConfig, dbt_build_args
from analytics_platform.defs.transform.project import DBT_PROJECT, dbt_environment, dbt_resource, run_target_path
from analytics_platform.resources import WarehouseResource


def test_every_dbt_unit_test_passes(built):
    unit_tests = json.loads(DBT_PROJECT.manifest_path.read_text())["unit_tests"]
    assert len(unit_tests) >= 5
    settings = WarehouseResource(state_dir=str(built.state)).settings
    target = run_target_path(settings, "unit-tests")
    with dbt_environment(settings):
        invocation = dbt_resource().cli(["test", "--select", "test_type:unit"], target_path=target, raise_on_error=False)
    invocation.wait()
    results = json.loads((target / "run_results.json").read_text())["results"]
    assert sorted(r["unique_id"] for r in results) == sorted(unit_tests)
    failed = [(r["unique_id"], r["message"]) for r in results if r["status"] != "pass"]
    assert not failed


def test_platform_runs_leave_unit_tests_out():
    args = dbt_build_args(DbtBuildConfig())
    assert args[:1] == ["build"] and args[args.index("--exclude-resource-type") + 1] == "unit_test"
