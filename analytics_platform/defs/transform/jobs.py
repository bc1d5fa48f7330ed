"""Jobs and schedules of the transformation layer."""

from __future__ import annotations

import dagster as dg

from analytics_platform.defs.transform.assets import dbt_models

DBT_SELECTION = dg.AssetSelection.assets(dbt_models)

dbt_build_job = dg.define_asset_job(
    "dbt_build",
    selection=DBT_SELECTION,
    description="`dbt build` of the whole project: seeds, staging, snapshot, marts and every dbt test.",
)

# Daily at 03:00 UTC, after the night's deliveries: everything, incrementally (eager automation
# already keeps marts current during the day; this run also refreshes the snapshot and runs
# every test once a day even without new data).
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
