"""Jobs and schedules of the transformation layer."""

from __future__ import annotations

import dagster as dg

from analytics_platform.defs.transform import test_scope
from analytics_platform.defs.transform.assets import dbt_models
from analytics_platform.defs.transform.project import DBT_PROJECT
from analytics_platform.resources import WarehouseResource

DBT_SELECTION = dg.AssetSelection.assets(dbt_models)

dbt_build_job = dg.define_asset_job(
    "dbt_build",
    selection=DBT_SELECTION,
    description="`dbt build` of the whole project: seeds, staging, snapshot, marts and every dbt test.",
)

# Daily at 03:00 UTC, after the night's deliveries: everything, incrementally (eager automation
# already keeps marts current during the day; this run also refreshes the snapshot and runs
# every test once a day even without new data: the full suite, test_scope.py).
daily_dbt_build_schedule = dg.ScheduleDefinition(
    name="daily_dbt_build",
    job=dbt_build_job,
    cron_schedule="0 3 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)

# Sundays: a full refresh, so rows the sources removed (which incremental models never revisit)
# disappear from the facts too.
weekly_full_refresh_schedule = dg.ScheduleDefinition(
    name="weekly_dbt_full_refresh",
    job=dbt_build_job,
    cron_schedule="30 4 * * 0",
    execution_timezone="UTC",
    run_config=dg.RunConfig(ops={"dbt_models": {"config": {"full_refresh": True}}}),
    default_status=dg.DefaultScheduleStatus.RUNNING,
)

# Evaluates the dbt assets' automation conditions (eager: refresh after new upstream data) and
# the checks on them. Its own sensor, RUNNING by default, so raw loads refresh the marts without
# anyone switching Dagster's default automation sensor on.
dbt_automation_sensor = dg.AutomationConditionSensorDefinition(
    "dbt_automation",
    target=DBT_SELECTION,
    default_status=dg.DefaultSensorStatus.RUNNING,
    # An evaluation takes a fraction of a second; every 5 s keeps "file landed → marts" short.
    minimum_interval_seconds=5,
    description="Materializes dbt models (and runs their checks) when their upstream data changed.",
)


@dg.sensor(
    job=dbt_build_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Runs the full dbt suite (`dbt_build`) once after the dbt project or a contract changed.",
)
def dbt_full_suite_after_change(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
    """Runs after a load test only the rows loaded since the last full suite (``test_scope.py``),
    and only while the project is the one that suite tested; after a change of a model, test,
    macro or contract, this starts the full suite once (the run key is the project's hash). With
    no full suite recorded yet (a new install) every run tests in full until the daily one."""
    record = test_scope.last_full_suite(warehouse.settings)
    project = test_scope.manifest_hash(DBT_PROJECT.manifest_path)
    if record is None or record.get("project") == project:
        return dg.SkipReason("the last full suite tested this project" if record else "no full suite yet")
    return dg.RunRequest(run_key=f"full-suite-{project[:16]}")
