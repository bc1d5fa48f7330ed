"""Profile assets, one partition per uncontracted dataset.

``reports/dataset_profile`` computes the profile in DuckDB on a read-only connection and stores it
as JSON beside the reports (``store.py``); ``reports/dataset_dashboard`` and
``reports/suggested_contract`` are rendered from that stored profile, so each can be re-run alone.
Profiling only reads the warehouse: it takes no slot of the ``warehouse`` pool (writers wait for
nothing it does), and several datasets profile side by side (dagster.yaml caps profile runs below
``max_concurrent_runs``, so ingestion always finds a free run slot).
Partitions are added by ``uncontracted_profile_sensor`` when a dataset appears in the warehouse.
"""


from typing import Any

import dagster as dg

from analytics_platform.defs.ingestion.checks import raw_asset_key
from analytics_platform.defs.ingestion.loader import UNCONTRACTED_KEY
from analytics_platform.defs.reports.page import render
from analytics_platform.defs.reports.profiles import contract_suggestion, dashboard, store
from analytics_platform.defs.reports.profiles.datasets import dataset_state, table_exists
from analytics_platform.defs.reports.profiles.formatting import median_label, num, pct
from analytics_platform.defs.reports.profiles.profile import compute_profile
from analytics_platform.files import write_atomically
from analytics_platform.resources import WarehouseResource

GROUP = "reports"
OWNERS = ["team:analytics"]
PARTITIONS_NAME = "uncontracted_datasets"
uncontracted_datasets = dg.DynamicPartitionsDefinition(name=PARTITIONS_NAME)

PROFILE_KEY = dg.AssetKey(["reports", "dataset_profile"])
DASHBOARD_KEY = dg.AssetKey(["reports", "dataset_dashboard"])
CONTRACT_KEY = dg.AssetKey(["reports", "suggested_contract"])
MODEL_KEY = dg.AssetKey(["reports", "dataset_model"])  # defs/reports/dataset_models/assets.py
TAGS = {"layer": "reports", "analytics/report": "profile"}


def summary_markdown(p: dict[str, Any], limit: int = 60) -> str:
    lines = [f"### `{p['dataset']}`: {p['rows']:,} rows × {len(p['columns'])} columns", "", "**Insights**", ""]
    lines += [f"{i}. {insight['text']}" for i, insight in enumerate(p["insights"], 1)]
    lines += ["", f"| column | type | role | empty | distinct | min | {median_label(p)} | max |", "|---|---|---|---|---|---|---|---|"]
    for c in p["columns"][:limit]:
        lo = (c.get("time") or {}).get("min", c.get("min"))
        hi = (c.get("time") or {}).get("max", c.get("max"))
        lines.append(
            f"| `{c['name']}` | {c['type']} | {c.get('role') or c['kind']} | {pct(c.get('null_rate') or 0)} | {c['distinct']:,} | "
            f"{_cell(lo)} | {_cell(c.get('median'))} | {_cell(hi)} |"
        )
    if len(p["columns"]) > limit:
        lines.append(f"| … {len(p['columns']) - limit} more | | | | | | | |")
    return "\n".join(lines)


def _cell(v: Any) -> str:
    if v is None:
        return ""
    return num(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v)[:19].replace("|", "\\|")


def stored_profile(warehouse: WarehouseResource, dataset: str) -> dict[str, Any]:
    profile = store.load(warehouse.settings, dataset)
    if profile is None:
        raise dg.Failure(description=f"No stored profile for dataset {dataset!r}: materialize {PROFILE_KEY.to_user_string()} for it first.")
    return profile


@dg.asset(
    key=PROFILE_KEY,
    partitions_def=uncontracted_datasets,
    deps=[raw_asset_key(UNCONTRACTED_KEY)],
    group_name=GROUP,
    owners=OWNERS,
    kinds={"duckdb", "python"},
    tags=TAGS,
    description=(
        "Profile of one uncontracted dataset (partition = dataset = table in `lake.uncontracted`): column types and kinds, "
        "null rates, distinct counts, histograms and top values, Pearson correlations, outliers (robust z-score), time "
        "columns (typed, text dates, years), the main measure's trend over time, candidate keys, and plain-language "
        "insights computed from all of it. Read-only (no warehouse pool slot); stored as JSON in `<reports>/profiles/<dataset>.json`."
    ),
)
def dataset_profile(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    dataset = context.partition_key
    settings = warehouse.settings
    with warehouse.connect(read_only=True) as con:
        if not table_exists(con, dataset):
            raise dg.Failure(description=f"lake.uncontracted.{dataset} does not exist (dropped, or the partition was added by hand).")
        profile = compute_profile(con, dataset, dataset_state(con, dataset))
    path = store.save(settings, profile, context.run_id)
    context.log.info(f"profiled {dataset}: {profile['rows']:,} rows × {len(profile['columns'])} columns in {profile['timings']['total']:.2f} s")
    top = ((profile.get("correlations") or {}).get("pairs") or [None])[0]
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": profile["rows"],
            "dagster/column_schema": dg.TableSchema(columns=[
                dg.TableColumn(c["name"], c["type"],
                               description=f"{c.get('role') or c['kind']}; {pct(c.get('null_rate') or 0)} empty; {c['distinct']:,} distinct")
                for c in profile["columns"]
            ]),
            "source_table": profile["table"],
            "columns": len(profile["columns"]),
            "insight_count": len(profile["insights"]),
            "insights": dg.MetadataValue.json([i["text"] for i in profile["insights"]]),
            "summary": dg.MetadataValue.md(summary_markdown(profile)),
            "main_measure": profile.get("main_measure") or "",
            "main_time_column": profile.get("main_time") or "",
            "primary_key_candidate": ", ".join(profile.get("primary_key") or []),
            "strongest_correlation": dg.MetadataValue.json(top or {}),
            "sampled": profile["sampled"],
            "profile_seconds": profile["timings"]["total"],
            "profile_json": dg.MetadataValue.path(str(path)),
            "fingerprint": profile.get("fingerprint") or "",
        }
    )


@dg.asset(
    key=DASHBOARD_KEY,
    partitions_def=uncontracted_datasets,
    deps=[PROFILE_KEY, MODEL_KEY],
    group_name=GROUP,
    owners=OWNERS,
    kinds={"plotly", "html"},
    tags=TAGS,
    description=(
        "Automatic dashboard of the dataset's profile: one self-contained HTML file (plotly.js inlined, opens offline, "
        "responsive, light/dark following the system) at `<reports>/profiles/<dataset>.html`: insights, the model and its "
        "explanation (or why there is none), trend, correlations, distributions with outliers, top values, completeness and a column table."
    ),
)
def dataset_dashboard(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    dataset = context.partition_key
    profile = stored_profile(warehouse, dataset)
    page = dashboard.build_page(profile, store.load(warehouse.settings, dataset, store.MODEL))
    text = render(page)
    path = write_atomically(store.artifact_path(warehouse.settings, dataset, ".html"), text)
    return dg.MaterializeResult(
        metadata={
            "dashboard": dg.MetadataValue.path(str(path)),
            "open": dg.MetadataValue.url(path.resolve().as_uri()),
            "size_kb": round(len(text.encode()) / 1024),
            "charts": len(page.charts),
            "insight_count": len(profile["insights"]),
            "profiled_at": profile["profiled_at"],
        }
    )


@dg.asset(
    key=CONTRACT_KEY,
    partitions_def=uncontracted_datasets,
    deps=[PROFILE_KEY],
    group_name=GROUP,
    owners=OWNERS,
    kinds={"yaml"},
    tags=TAGS,
    description=(
        "Suggested source contract for the dataset, in the format of `defs/ingestion/contracts/*.yaml`, dry-run against "
        "its landed files with the ingestion's own reader. Adopt it by copying "
        "`<reports>/profiles/<dataset>.contract.yaml` into the contracts folder (when `adoptable` is true)."
    ),
)
def suggested_contract(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    dataset = context.partition_key
    settings = warehouse.settings
    profile = stored_profile(warehouse, dataset)
    with warehouse.connect(read_only=True) as con:
        suggestion = contract_suggestion.suggest(profile, con, settings.landing_dir)
    path = write_atomically(store.artifact_path(settings, dataset, ".contract.yaml"), suggestion.yaml_text)
    for problem in suggestion.problems:
        context.log.warning(f"{dataset}: {problem}")
    return dg.MaterializeResult(
        metadata={
            "contract": dg.MetadataValue.path(str(path)),
            "contract_yaml": dg.MetadataValue.md(f"```yaml\n{suggestion.yaml_text}```"),
            "contract_name": suggestion.contract.name,
            "adoptable": suggestion.adoptable,
            "adopt_with": f"cp {path} analytics_platform/defs/ingestion/contracts/{suggestion.file_name}" if suggestion.adoptable else "",
            "problems": dg.MetadataValue.json(suggestion.problems),
            "adjustments": dg.MetadataValue.json(suggestion.adjustments),
            "files_dry_run": dg.MetadataValue.json(suggestion.checked_files),
            "primary_key": ", ".join(suggestion.contract.primary_key),
            "incremental_key": suggestion.contract.incremental_key or "",
        }
    )


profile_assets = [dataset_profile, dataset_dashboard, suggested_contract]
