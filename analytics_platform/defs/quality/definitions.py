"""Quality: metric threshold checks on marts and the alerting sensors."""

import dagster as dg

from analytics_platform.defs.quality.sensors import alert_on_check_failure, alert_on_run_failure
from analytics_platform.defs.quality.thresholds import threshold_checks

defs = dg.Definitions(
    asset_checks=[threshold_checks],
    sensors=[alert_on_run_failure, alert_on_check_failure],
)
