"""Dataset models: any uncontracted dataset with a target → a compared, explained model (beside its profile)."""

import dagster as dg

from analytics_platform.code_references import with_code_references
from analytics_platform.defs.reports.dataset_models.assets import dataset_model

defs = dg.Definitions(assets=with_code_references([dataset_model]))
