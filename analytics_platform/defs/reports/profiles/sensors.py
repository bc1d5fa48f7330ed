"""New or changed uncontracted datasets → a partition each, and runs in two steps per change.

The sensor lists the tables of ``lake.uncontracted`` with a fingerprint of their current files
(from the ingestion ledger, see ``datasets.py``) and of their model YAML
(``datasets/<dataset>.yml``, see ``dataset_models/target.py``). Changed files of a dataset whose
model may train (a YAML, or a column named like an outcome: ``may_train``) first run the profile,
the dashboard and the contract (``PROFILE_FIRST``): the dashboard is there in seconds and never
waits for a model (training takes a minute or more, and 20 datasets landing together would queue
behind each other's models). Once the stored profile is of the current files, a later tick runs
the model and renders the dashboard again with it (``MODEL_ONLY``); a changed (added, edited,
removed) YAML alone does the same. Model runs carry a lower ``dagster/priority``, so the run queue
starts every queued dashboard run before any of them, also when a landing run's commits spread the
datasets over several ticks. A dataset with no target runs all four in one run
(``EVERYTHING``): its model is a sentence saying why there is none. The cursor keeps, per dataset, the files and YAML last requested
and the files the model was last requested for; the run key is dataset + that state, so a retried
tick never runs the same content twice.
"""


import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import dagster as dg

from analytics_platform import warehouse as lake
from analytics_platform.defs.ingestion.contracts import UNCONTRACTED_SCHEMA
from analytics_platform.defs.reports.dataset_models.assets import dataset_model
from analytics_platform.defs.reports.dataset_models.target import OUTCOME_WORDS, spec_path
from analytics_platform.defs.reports.profiles import store
from analytics_platform.defs.reports.profiles.assets import CONTRACT_KEY, DASHBOARD_KEY, MODEL_KEY, PROFILE_KEY, profile_assets, uncontracted_datasets
from analytics_platform.defs.reports.profiles.datasets import Dataset, list_datasets
from analytics_platform.defs.reports.profiles.roles import words
from analytics_platform.resources import WarehouseResource
from analytics_platform.settings import Settings

EVERYTHING = [PROFILE_KEY, MODEL_KEY, DASHBOARD_KEY, CONTRACT_KEY]
PROFILE_FIRST = [PROFILE_KEY, DASHBOARD_KEY, CONTRACT_KEY]
MODEL_ONLY = [MODEL_KEY, DASHBOARD_KEY]
NO_TARGET_FILE = "no-target-file"
PRIORITY_TAG = "dagster/priority"
MODEL_PRIORITY = "-1"  # below the default 0 of the profile runs


def target_fingerprint(datasets_dir: Path, dataset: str) -> str:
    try:
        return hashlib.sha256(spec_path(datasets_dir, dataset).read_bytes()).hexdigest()[:12]
    except FileNotFoundError:
        return NO_TARGET_FILE


def may_train(columns: list[str], target: str) -> bool:
    """Whether the dataset's model may train: a YAML names its target, or a column is named like an
    outcome (the only ones ``target.py`` proposes). Otherwise its model is one sentence saying why
    there is none, written in a second: it runs with the profile, and no second run is needed."""
    return target != NO_TARGET_FILE or any((words(c) or [""])[-1] in OUTCOME_WORDS for c in columns)


def plan(datasets: dict[str, Dataset], targets: dict[str, str], cursor: dict[str, str], known_partitions: set[str],
         profiled: Callable[[str], str | None], columns: dict[str, list[str]]) -> tuple[list[str], dict[str, list[dg.AssetKey]], dict[str, str]]:
    """(partitions to add, dataset → the assets to run for it, the new cursor). ``profiled(name)``:
    the files fingerprint of the dataset's stored profile, once its dashboard is rendered from it."""
    new_partitions = sorted(set(datasets) - known_partitions)
    runs: dict[str, list[dg.AssetKey]] = {}
    state: dict[str, str] = {}
    for name in sorted(datasets):
        data, target, *rest = cursor.get(name, "").split("/") + [""]
        modelled = rest[0] if len(rest) > 1 else data  # a cursor of before: the model ran in the profile's run
        current = datasets[name].fingerprint
        if data != current:
            trains = may_train(columns.get(name, []), targets[name])
            runs[name], modelled = (PROFILE_FIRST, "") if trains else (EVERYTHING, current)
        elif modelled != current and profiled(name) == current:
            runs[name], modelled = MODEL_ONLY, current
        elif modelled == current and target != targets[name]:
            runs[name] = MODEL_ONLY
        state[name] = f"{current}/{targets[name]}/{modelled}"
    return new_partitions, runs, state


def profiled_files(settings: Settings, dataset: str) -> str | None:
    """The files fingerprint of the stored profile, once the dashboard is rendered from it (so the
    model's run, which renders the dashboard again, never races the profile run's own render)."""
    try:
        if store.artifact_path(settings, dataset, ".html").stat().st_mtime < store.artifact_path(settings, dataset, store.PROFILE).stat().st_mtime:
            return None
    except FileNotFoundError:
        return None
    profile = store.load(settings, dataset)
    return profile.get("fingerprint") if profile else None


@dg.sensor(
    name="uncontracted_profile_sensor",
    description="Adds a partition per uncontracted dataset and profiles it (profile, dashboard, suggested contract) whenever "
    "its files change, then runs its model and renders the dashboard again; re-runs both when its `datasets/<dataset>.yml` changes.",
    target=[*profile_assets, dataset_model],
    minimum_interval_seconds=10,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def uncontracted_profile_sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource) -> dg.SensorResult | dg.SkipReason:
    settings = warehouse.settings
    if not lake.exists(settings):
        return dg.SkipReason(f"No warehouse yet ({lake.describe(settings)})")
    with warehouse.connect(read_only=True) as con:
        datasets = list_datasets(con)
        columns: dict[str, list[str]] = {}
        for table, column in con.execute("SELECT table_name, column_name FROM duckdb_columns() WHERE database_name = current_database() "
                                         "AND schema_name = ? ORDER BY table_name, column_index", [UNCONTRACTED_SCHEMA]).fetchall():
            columns.setdefault(table, []).append(column)
    targets = {name: target_fingerprint(settings.datasets_dir, name) for name in datasets}
    cursor: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    known = set(context.instance.get_dynamic_partitions(uncontracted_datasets.name or ""))
    new_partitions, runs, state = plan(datasets, targets, cursor, known, lambda name: profiled_files(settings, name), columns)
    if not new_partitions and not runs:
        return dg.SkipReason(f"{len(datasets)} uncontracted dataset(s), none new or changed")
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=f"{name}:{state[name]}",
                partition_key=name,
                asset_selection=keys,
                # "profile" for both: dagster.yaml caps these runs at 2, so ingestion always finds a run slot.
                # A model run queues behind every dashboard run (the queue takes higher priorities first).
                tags={"analytics/report": "profile", "analytics/dataset": name, **({PRIORITY_TAG: MODEL_PRIORITY} if keys == MODEL_ONLY else {})},
            )
            for name, keys in runs.items()
        ],
        dynamic_partitions_requests=[uncontracted_datasets.build_add_request(new_partitions)] if new_partitions else [],
        cursor=json.dumps(state, sort_keys=True),
    )
