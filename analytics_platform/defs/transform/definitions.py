"""Transformation: dbt assets (+ dbt tests as checks), the dbt unit-test and GDPR erasure jobs, schedules.

Needs the ``warehouse`` resource bound in ``analytics_platform/definitions.py``; brings its own
``dbt`` resource (dbt of this environment, project ``dbt_project/``).
"""

import dagster as dg

from analytics_platform.code_references import with_code_references
from analytics_platform.defs.transform.assets import dbt_models
from analytics_platform.defs.transform.gdpr import gdpr_erase_customer
from analytics_platform.defs.transform.jobs import (
    daily_dbt_build_schedule,
    dbt_automation_sensor,
    dbt_build_job,
    dbt_full_suite_after_change,
    weekly_full_refresh_schedule,
)
from analytics_platform.defs.transform.project import dbt_resource
from analytics_platform.defs.transform.unit_tests import dbt_unit_tests

defs = dg.Definitions(
    assets=with_code_references([dbt_models]),  # dbt keeps its own: each model's .sql
    jobs=[dbt_build_job, dbt_unit_tests, gdpr_erase_customer],
    schedules=[daily_dbt_build_schedule, weekly_full_refresh_schedule],
    sensors=[dbt_automation_sensor, dbt_full_suite_after_change],
    resources={"dbt": dbt_resource()},
)
