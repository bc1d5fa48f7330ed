"""Ingestion: landing folder → raw tables, with their checks and the landing sensor.

``raw/<source>__<table>`` links to its contract (``contracts/<source>__<table>.yaml``) and to the
loader that materializes every raw table (``raw_tables`` in ``assets.py``).
"""

import dagster as dg

from analytics_platform.code_references import with_code_references
from analytics_platform.defs.ingestion.assets import raw_tables
from analytics_platform.defs.ingestion.checks import raw_asset_key
from analytics_platform.defs.ingestion.contracts import load_contracts
from analytics_platform.defs.ingestion.sensors import landing_sensor

defs = dg.Definitions(
    assets=with_code_references([raw_tables], declared_in={raw_asset_key(c.name): c.path for c in load_contracts()}),
    sensors=[landing_sensor],
)
