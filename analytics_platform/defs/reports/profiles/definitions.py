"""Dataset profiles: any uncontracted dataset → profile → insights → dashboard + suggested contract."""

import dagster as dg

from analytics_platform.defs.reports.profiles.assets import profile_assets
from analytics_platform.defs.reports.profiles.sensors import uncontracted_profile_sensor

defs = dg.Definitions(
    assets=profile_assets,
    sensors=[uncontracted_profile_sensor],
)
