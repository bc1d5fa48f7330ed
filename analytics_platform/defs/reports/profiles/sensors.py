"""New or changed uncontracted datasets → a partition each, and one run per change.

The sensor lists the tables of ``lake.uncontracted`` with a fingerprint of their current files
(from the ingestion ledger, see ``datasets.py``) and of their model YAML
(``datasets/<dataset>.yml``, see ``dataset_models/target.py``). The cursor keeps, per dataset, the
pair last requested; the run key is dataset + pair, so a retried tick never runs the same content
twice. Changed files run the profile, the model, the dashboard and the contract; a changed (added,
edited, removed) YAML alone runs only the model and the dashboard.
"""


import hashlib
import json
from pathlib import Path

import dagster as dg

from analytics_platform import warehouse as lake
from analytics_platform.defs.reports.dataset_models.assets import dataset_model
from analytics_platform.defs.reports.dataset_models.target import spec_path
from analytics_platform.defs.reports.profiles.assets import CONTRACT_KEY, DASHBOARD_KEY, MODEL_KEY, PROFILE_KEY, profile_assets, uncontracted_datasets
from analytics_platform.defs.reports.profiles.datasets import Dataset, list_datasets
from analytics_platform.resources import WarehouseResource

EVERYTHING = [PROFILE_KEY, MODEL_KEY, DASHBOARD_KEY, CONTRACT_KEY]
MODEL_ONLY = [MODEL_KEY, DASHBOARD_KEY]


def target_fingerprint(datasets_dir: Path, dataset: str) -> str:
    try:
        return hashlib.sha256(spec_path(datasets_dir, dataset).read_bytes()).hexdigest()[:12]
    except FileNotFoundError:
        return "no-target-file"


def plan(datasets: dict[str, Dataset], targets: dict[str, str], cursor: dict[str, str],
         known_partitions: set[str]) -> tuple[list[str], dict[str, list[dg.AssetKey]]]:
    """(partitions to add, dataset → the assets to run for it)."""
    new_partitions = sorted(set(datasets) - known_partitions)
    runs: dict[str, list[dg.AssetKey]] = {}
    for name in sorted(datasets):
        data, _, target = cursor.get(name, "").partition("/")
        if data != datasets[name].fingerprint:
            runs[name] = EVERYTHING
        elif target != targets[name]:
            runs[name] = MODEL_ONLY
    return new_partitions, runs


@dg.sensor(
    name="uncontracted_profile_sensor",
    description="Adds a partition per uncontracted dataset and profiles it (profile, model, dashboard, suggested contract) "
    "whenever its files change; re-runs its model and dashboard when its `datasets/<dataset>.yml` changes.",
    target=[*profile_assets, dataset_model],
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def uncontracted_profile_sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource) -> dg.SensorResult | dg.SkipReason:
    settings = warehouse.settings
    if not lake.exists(settings):
        return dg.SkipReason(f"No warehouse yet ({lake.describe(settings)})")
    with warehouse.connect(read_only=True) as con:
        datasets = list_datasets(con)
    targets = {name: target_fingerprint(settings.datasets_dir, name) for name in datasets}
    cursor: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    known = set(context.instance.get_dynamic_partitions(uncontracted_datasets.name or ""))
    new_partitions, runs = plan(datasets, targets, cursor, known)
    if not new_partitions and not runs:
        return dg.SkipReason(f"{len(datasets)} uncontracted dataset(s), none new or changed")
    state = {name: f"{d.fingerprint}/{targets[name]}" for name, d in datasets.items()}
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=f"{name}:{state[name]}",
                partition_key=name,
                asset_selection=keys,
                # "profile" for both: dagster.yaml caps these runs at 2, so ingestion always finds a run slot.
                tags={"analytics/report": "profile", "analytics/dataset": name},
            )
            for name, keys in runs.items()
        ],
        dynamic_partitions_requests=[uncontracted_datasets.build_add_request(new_partitions)] if new_partitions else [],
        cursor=json.dumps(state, sort_keys=True),
    )
