"""Ingestion: landing folder → raw tables, with their checks and the landing sensor."""

import dagster as dg

from analytics_platform.defs.ingestion.assets import raw_tables
from analytics_platform.defs.ingestion.sensors import landing_sensor

defs = dg.Definitions(
    assets=[raw_tables],
    sensors=[landing_sensor],
)
