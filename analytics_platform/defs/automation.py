"""Declarative automation for everything that is not a dbt model: ML, reports, threshold checks.

The dbt models have their own sensor (``defs/transform/jobs.py``, evaluated every 5 s because it
sits on the file → mart path). Every other asset or check with an automation condition is
evaluated here. Dagster's built-in default automation sensor starts switched off, so without
this sensor those conditions would never fire.
"""

import dagster as dg

from analytics_platform.defs.transform.jobs import DBT_SELECTION

downstream_automation_sensor = dg.AutomationConditionSensorDefinition(
    "downstream_automation",
    target=dg.AssetSelection.all() - DBT_SELECTION,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=15,
    description="Materializes ML, report and quality assets (and their checks) by their automation conditions.",
)

defs = dg.Definitions(sensors=[downstream_automation_sensor])
