"""Dataset profiles: any uncontracted dataset → profile → insights → dashboard + suggested contract."""

import dagster as dg

from analytics_platform.code_references import with_code_references
from analytics_platform.defs.reports.profiles.assets import profile_assets
from analytics_platform.defs.reports.profiles.sensors import uncontracted_profile_sensor

defs = dg.Definitions(
    assets=with_code_references(profile_assets),
    sensors=[uncontracted_profile_sensor],
)
