"""The ``dbt_unit_tests`` job: dbt's unit tests (a model's SQL against fixed inputs), launchable
from the UI. Platform builds leave them out (``assets.dbt_build_args``): they test logic, not
data, so they run on demand and in CI (``tests/transform/test_dbt_unit_tests.py`` runs this job).

dbt reads the warehouse's catalog for the column types of a model's inputs and writes nothing,
so the job needs no ``warehouse`` pool slot.
"""

import json

import dagster as dg
from dagster_dbt import DbtCliResource

from analytics_platform.defs.transform.project import dbt_environment, keep_partial_parse, run_target_path
from analytics_platform.resources import WarehouseResource


@dg.op(description="`dbt test --select test_type:unit`; fails when a unit test fails.")
def run_dbt_unit_tests(context: dg.OpExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource) -> dg.Output[dict]:
    settings = warehouse.settings
    target = run_target_path(settings, f"unit-tests-{context.run_id[:8]}")
    with dbt_environment(settings):
        invocation = dbt.cli(["test", "--select", "test_type:unit"], target_path=target, raise_on_error=False)
    invocation.wait()
    keep_partial_parse(settings, target)
    results = json.loads((target / "run_results.json").read_text())["results"]
    statuses = {r["unique_id"].split(".")[-1]: r["status"] for r in results}
    for name, status in sorted(statuses.items()):
        context.log.info(f"{name}: {status}")
    failed = sorted(name for name, status in statuses.items() if status != "pass")
    metadata = {"unit_tests": len(statuses), "failed": dg.MetadataValue.json(failed)}
    if failed or not statuses:
        raise dg.Failure(description=f"dbt unit tests failed: {failed or 'none ran'}", metadata=metadata)
    return dg.Output(statuses, metadata=metadata)


@dg.job(description="dbt's unit tests (SQL logic against fixed inputs), on demand: platform builds leave them out.")
def dbt_unit_tests() -> None:
    run_dbt_unit_tests()
