"""Raw tables: one asset per source contract, plus one for uncontracted datasets.

A single multi-asset loads whatever batch of landed files a run is given (the landing sensor
passes the batch; a manual materialization takes every file not yet loaded), because one pass
over the landing folder serves all tables. Assets without new files in a run are skipped, so
downstream automation only reacts to real new data.
"""


import datetime as dt
from collections.abc import Iterator
from typing import Any

import dagster as dg

from analytics_platform.defs.ingestion.checks import raw_asset_key, run_table_checks, table_check_specs
from analytics_platform.defs.ingestion.contracts import UNCONTRACTED_SCHEMA, Contract, load_contracts
from analytics_platform.defs.ingestion.ledger import loads_since
from analytics_platform.defs.ingestion.loader import UNCONTRACTED_KEY, IngestReport, ingest
from analytics_platform.defs.ingestion.objects import fetched, landed
from analytics_platform.resources import WarehouseResource, warehouse_pool

GROUP = "ingestion"
CONTRACT_CHECK = "contract_conformity"




def _spec(contract: Contract) -> dg.AssetSpec:
    return dg.AssetSpec(
        key=raw_asset_key(contract.name),
        description=f"{contract.description}\n\nLoaded from `landing/{contract.file_pattern}` under the contract "
        f"`{contract.path.name}`; primary key {list(contract.primary_key)}.",
        group_name=GROUP,
        kinds={"duckdb", contract.format},
        owners=["team:data-platform"],
        skippable=True,
        # Sources deliver daily; a table without new data for 26 h shows as stale in the UI.
        freshness_policy=dg.FreshnessPolicy.time_window(fail_window=dt.timedelta(hours=26), warn_window=dt.timedelta(hours=25)),
        tags={"layer": "raw", "source": contract.source},
        metadata={
            "dagster/column_schema": dg.TableSchema(
                columns=[dg.TableColumn(c.name, c.type, description=c.description) for c in contract.columns]
            ),
            "dagster/table_name": f"lake.raw.{contract.name}",
            "contract": dg.MetadataValue.path(str(contract.path)),
        },
    )


class IngestConfig(dg.Config):
    """Which landed files to load (paths relative to the landing folder); empty = all new ones."""

    files: list[str] = []
    settle_seconds: float = 2.0
    # Materialize every selected table, new files or not (``materialize``: every asset once, so
    # the dbt models above are built even when the files were loaded by an earlier, killed run).
    every_table: bool = False


def build_raw_assets() -> dg.AssetsDefinition:
    contracts = load_contracts()
    specs = [_spec(c) for c in contracts] + [
        dg.AssetSpec(
            key=raw_asset_key(UNCONTRACTED_KEY),
            description="Files no contract describes, loaded with inferred types into one table per dataset "
            f"(folder) in the `{UNCONTRACTED_SCHEMA}` schema, and flagged for profiling.",
            group_name=GROUP,
            kinds={"duckdb"},
            owners=["team:data-platform"],
            skippable=True,
            tags={"layer": "raw"},
        )
    ]
    check_specs = [
        dg.AssetCheckSpec(CONTRACT_CHECK, asset=s.key, description="Every file of the run met the contract; fails if any was quarantined.")
        for s in specs
    ] + [spec for c in contracts for spec in table_check_specs(c)]

    @dg.multi_asset(
        name="raw_tables",
        specs=specs,
        check_specs=check_specs,
        can_subset=True,
        pool=warehouse_pool("ingest"),
        op_tags={"analytics/ingestion": "landing"},
        # Loads are idempotent (ledger), so a step that lost a catalog race beyond the in-step
        # retries is simply run again.
        retry_policy=dg.RetryPolicy(max_retries=2, delay=5, backoff=dg.Backoff.EXPONENTIAL),
    )
    def raw_tables(context: dg.AssetExecutionContext, config: IngestConfig, warehouse: WarehouseResource) -> Iterator[Any]:
        settings = warehouse.settings
        files = landed(settings, config.settle_seconds)
        if config.files:
            wanted_files = set(config.files)
            files = [f for f in files if f.source in wanted_files]
        wanted = {key.path[-1] for key in context.selected_asset_keys}
        context.log.info(f"{len(files)} landed file(s) to consider for {sorted(wanted)}")
        with warehouse.connect() as con:
            with fetched(con, files, settings) as local:
                report = ingest(con, local, contracts, settings.quarantine_dir, context.run_id, wanted, context.log.info)
            yield from _results(context, report)
            unchanged = [c for c in contracts if c.name not in report.targets()]
            recovered = yield from _without_new_files(context, con, unchanged, config.every_table)
            # Table checks run on what is committed, for tables that got data (or were asked for).
            for c in contracts:
                names = {k.name for k in context.selected_asset_check_keys if k.asset_key == raw_asset_key(c.name)} - {CONTRACT_CHECK}
                materialized = raw_asset_key(c.name) in context.selected_asset_keys
                if names and (c.name in report.loaded or c.name in recovered or not materialized):
                    yield from run_table_checks(con, c, names)

    return raw_tables


def _without_new_files(context: dg.AssetExecutionContext, con, contracts: list[Contract], every_table: bool) -> Iterator[Any]:
    """Materialize the selected tables that got no new file in this run, when asked to, or when they
    hold files that a run committed but died before reporting (kill -9, OOM): without that, the
    data would be in the table with no materialization saying so, and the dbt models above it
    would not be rebuilt from it. Returns the names of the tables it materialized.
    """
    recovered = set()
    for c in contracts:
        key = raw_asset_key(c.name)
        if key not in context.selected_asset_keys:
            continue
        latest = context.instance.get_latest_materialization_event(key)
        # Loads of runs this instance knows: a run it never saw is not its to report.
        loads = [n for run, n in loads_since(con, c.qualified_table, latest.timestamp if latest else None, context.run_id).items()
                 if context.instance.has_run(run)]
        files, rows = sum(f for f, _ in loads), sum(r for _, r in loads)
        if files:
            context.log.warning(f"{c.name}: {files} file(s) committed by an interrupted run were never reported: materializing them now")
        elif not every_table:
            continue
        recovered.add(c.name)
        yield dg.MaterializeResult(asset_key=key, metadata={"files_loaded": 0, "rows_loaded": 0, "files_recovered": files, "rows_recovered": rows})
        yield dg.AssetCheckResult(asset_key=key, check_name=CONTRACT_CHECK, passed=True,
                                  metadata={"quarantined": dg.MetadataValue.json([]), "added_columns": []})
    return recovered


def _results(context: dg.AssetExecutionContext, report: IngestReport) -> Iterator[Any]:
    for target in sorted(report.targets()):
        key = raw_asset_key(target)
        if key not in context.selected_asset_keys:
            continue
        loaded, quarantined, dupes = report.loaded.get(target, []), report.quarantined.get(target, []), report.duplicates.get(target, [])
        rows = sum(f["rows"] for f in loaded)
        suppressed = sum(f["suppressed"] for f in loaded)
        drift = sorted({c for f in loaded for c in f["detected"].get("extra_columns", [])})
        files_table = "\n".join(
            f"| `{f['file']}` | {f['rows']:,} | {f['suppressed']:,} | v{f['version']} | "
            f"{f['detected'].get('encoding', '')} {f['detected'].get('delimiter', '')!r} |"
            for f in loaded[:200]
        )
        if loaded:
            yield dg.MaterializeResult(
                asset_key=key,
                metadata={
                    "files_loaded": len(loaded),
                    "rows_loaded": rows,
                    # Rows about customers erased for GDPR, left out (meta.ingest_ledger.rows_suppressed).
                    "rows_suppressed_gdpr": suppressed,
                    "erased_ids_learned": report.erased_ids_learned.get(target, 0),
                    "duplicates_skipped": len(dupes),
                    "files_quarantined": len(quarantined),
                    "corrected_versions": sum(1 for f in loaded if f["version"] > 1),
                    "added_columns_ignored": drift,
                    "files": dg.MetadataValue.md(
                        "| file | rows | suppressed (GDPR) | version | encoding / delimiter |\n|---|---|---|---|---|\n" + files_table
                    ),
                },
            )
        yield dg.AssetCheckResult(
            asset_key=key,
            check_name=CONTRACT_CHECK,
            passed=not quarantined and not drift,
            severity=dg.AssetCheckSeverity.ERROR if quarantined else dg.AssetCheckSeverity.WARN,
            metadata={
                "quarantined": dg.MetadataValue.json([
                    {k: q[k] for k in ("source_file", "reason_code", "reason", "quarantine_path")} for q in quarantined
                ]),
                "added_columns": drift,
            },
        )


raw_tables = build_raw_assets()
