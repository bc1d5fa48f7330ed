"""New or changed uncontracted datasets → a partition each, and one profiling run per change.

The sensor lists the tables of ``lake.uncontracted`` with a fingerprint of their current files
(from the ingestion ledger, see ``datasets.py``). The cursor keeps the fingerprint last requested
per dataset; the run key is dataset + fingerprint, so a retried tick never profiles the same
content twice, and a corrected or additional file profiles the dataset again.
"""


import json

import dagster as dg

from analytics_platform import warehouse as lake
from analytics_platform.defs.reports.profiles.assets import CONTRACT_KEY, DASHBOARD_KEY, PROFILE_KEY, profile_assets, uncontracted_datasets
from analytics_platform.defs.reports.profiles.datasets import Dataset, list_datasets
from analytics_platform.resources import WarehouseResource


def plan(datasets: dict[str, Dataset], cursor: dict[str, str], known_partitions: set[str]) -> tuple[list[str], list[str]]:
    """(partitions to add, datasets to profile)."""
    new_partitions = sorted(set(datasets) - known_partitions)
    changed = sorted(name for name, d in datasets.items() if cursor.get(name) != d.fingerprint)
    return new_partitions, changed


@dg.sensor(
    name="uncontracted_profile_sensor",
    description="Adds a partition per uncontracted dataset and profiles it (profile, dashboard, suggested contract) "
    "whenever its files change.",
    target=profile_assets,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def uncontracted_profile_sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource) -> dg.SensorResult | dg.SkipReason:
    settings = warehouse.settings
    if not lake.exists(settings):
        return dg.SkipReason(f"No warehouse yet ({lake.describe(settings)})")
    with warehouse.connect(read_only=True) as con:
        datasets = list_datasets(con)
    cursor: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    known = set(context.instance.get_dynamic_partitions(uncontracted_datasets.name or ""))
    new_partitions, changed = plan(datasets, cursor, known)
    if not new_partitions and not changed:
        return dg.SkipReason(f"{len(datasets)} uncontracted dataset(s), none new or changed")
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=f"{name}:{datasets[name].fingerprint}",
                partition_key=name,
                asset_selection=[PROFILE_KEY, DASHBOARD_KEY, CONTRACT_KEY],
                tags={"analytics/report": "profile", "analytics/dataset": name},
            )
            for name in changed
        ],
        dynamic_partitions_requests=[uncontracted_datasets.build_add_request(new_partitions)] if new_partitions else [],
        cursor=json.dumps({name: d.fingerprint for name, d in datasets.items()}, sort_keys=True),
    )
