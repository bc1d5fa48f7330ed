"""The landing sensor: new files → one ingestion run per batch, no click needed.

It watches the landing folder and, in shared mode with ``ANALYTICS_LANDING_URL``, the landing
prefix on the object store too (``objects.py``); an object is named by its URL.

The cursor remembers each requested file's size and modification time, so a file is requested
once, and again only if it is re-delivered with other content (a corrected version). The run key
is derived from the batch, so a sensor tick that is retried never launches the same batch twice.
Files still being written (temp suffixes, or changed within ``SETTLE_SECONDS``) wait.

The run also refreshes the dbt models above the raw tables it loads (``file → mart`` in one run:
one process start, no wait for the next automation tick). The dbt automation sensor then sees
those models updated after their inputs and requests nothing more; assets below the dbt models
(ML, reports) follow by their own automation conditions.
"""


import hashlib
import json

import dagster as dg

from analytics_platform.defs.ingestion.assets import raw_asset_key, raw_tables
from analytics_platform.defs.ingestion.contracts import contract_for, load_contracts
from analytics_platform.defs.ingestion.loader import UNCONTRACTED_KEY
from analytics_platform.defs.ingestion.objects import landed
from analytics_platform.resources import WarehouseResource

SETTLE_SECONDS = 2.0
# Dagster's sensor daemon looks at sensors every 5 s (MIN_INTERVAL_LOOP_TIME) and skips one whose
# last tick began less than its minimum interval ago. A tick begins a little after its loop does,
# so a 5 s minimum skipped every other loop: the folder was checked every 10 s. 1 s = every loop.
MINIMUM_INTERVAL_SECONDS = 1
MAX_FILES_PER_RUN = 2000
DBT_MODELS = dg.AssetSelection.kind("dbt")
DBT_SEEDS = dg.AssetSelection.kind("seed")
CONTRACTED = [raw_asset_key(c.name) for c in load_contracts()]


def plan_batch(files_now: dict[str, str], cursor: dict[str, str]) -> list[str]:
    """Files that are new or changed since the cursor, oldest name first."""
    return sorted(f for f, stamp in files_now.items() if cursor.get(f) != stamp)[:MAX_FILES_PER_RUN]


@dg.sensor(
    name="landing_sensor",
    description="Watches the landing folder (and prefix on the object store, when set); each batch of new or corrected files "
    "gets one run that loads it and refreshes the dbt models above.",
    target=dg.AssetSelection.assets(raw_tables) | (dg.AssetSelection.assets(raw_tables).downstream().upstream() & DBT_MODELS),
    minimum_interval_seconds=MINIMUM_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def landing_sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource) -> dg.SensorResult | dg.SkipReason:
    settings = warehouse.settings
    cursor: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    landed_now = {f.source: f for f in landed(settings, SETTLE_SECONDS)}
    files = {source: f"{f.size}:{f.mtime_ns}" for source, f in landed_now.items()}
    batch = plan_batch(files, cursor)
    if not batch:
        return dg.SkipReason(f"No new files in {' or '.join(filter(None, [str(settings.landing_dir), settings.landing_url]))}")
    contracts = load_contracts()
    target_of = {f: (c.name if (c := contract_for(landed_now[f].relative, contracts)) else UNCONTRACTED_KEY) for f in batch}
    # Embedded, one run loads the batch (one writer at a time anyway). Shared, one run per source:
    # their ingestion steps append to different tables side by side (docs/architecture.md); but the
    # first load stays one run, as models (and their tests) of one source read other sources' tables.
    per_source = settings.shared is not None and all(context.instance.get_latest_materialization_event(k) for k in CONTRACTED)
    group = (lambda target: target.split("__", 1)[0]) if per_source else (lambda target: "landing")
    groups: dict[str, list[str]] = {}
    for f in batch:
        groups.setdefault(group(target_of[f]), []).append(f)
    cursor.update({f: files[f] for f in batch})
    cursor = {f: s for f, s in cursor.items() if f in files}  # forget files that left the folder
    return dg.SensorResult(
        run_requests=[_request(context, name, sorted(groups[name]), files, target_of) for name in sorted(groups)],
        cursor=json.dumps(cursor, sort_keys=True),
    )


def _request(context: dg.SensorEvaluationContext, name: str, batch: list[str], files: dict[str, str],
             target_of: dict[str, str]) -> dg.RunRequest:
    """One run: the files of ``batch``, their raw tables and the dbt models above them."""
    raw_keys = [raw_asset_key(t) for t in sorted({target_of[f] for f in batch})]
    graph = context.repository_def.asset_graph
    models = (dg.AssetSelection.assets(*raw_keys).downstream() & DBT_MODELS).resolve(graph)
    # seeds those models read, the first time (a fresh warehouse has none yet)
    seeds = (dg.AssetSelection.assets(*models).upstream() & DBT_SEEDS).resolve(graph)
    models |= {k for k in seeds if context.instance.get_latest_materialization_event(k) is None}
    run_key = hashlib.sha256("\n".join(f"{f}@{files[f]}" for f in batch).encode()).hexdigest()[:32]
    return dg.RunRequest(
        run_key=run_key,
        asset_selection=[*raw_keys, *sorted(models)],
        run_config={"ops": {"raw_tables": {"config": {"files": batch, "settle_seconds": 0.0}}}},
        # dagster.yaml: one run per value at a time, so batches of one source stay in order
        tags={"analytics/ingestion": name, "analytics/files": str(len(batch))},
    )
