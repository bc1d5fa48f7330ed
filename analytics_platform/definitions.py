"""The single place that assembles the platform's definitions (`dg dev`, `dagster dev -w`)."""

from __future__ import annotations

import dagster as dg

from analytics_platform.defs.ingestion.assets import raw_tables
from analytics_platform.defs.ingestion.checks import freshness_checks, freshness_sensor
from analytics_platform.defs.ingestion.sensors import landing_sensor
from analytics_platform.resources import WarehouseResource

defs = dg.Definitions(
    assets=[raw_tables],
    asset_checks=[*freshness_checks],
    sensors=[landing_sensor, freshness_sensor],
    resources={"warehouse": WarehouseResource()},
    executor=dg.in_process_executor,
)
