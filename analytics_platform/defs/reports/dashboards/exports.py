"""On-demand exports of the marts (and ML tables) to CSV and/or Parquet files.

Launch the ``export_marts`` job from the UI (Launchpad) or the command line with a typed config:
which tables (mart names, or ``ml.<table>``; empty = every mart) and which format. DuckDB
streams each table straight to ``<reports_dir>/exports/<schema>/<table>.<csv|parquet>``, through
``files.replaced_atomically``, so a reader never sees half a file.
"""

import time
from pathlib import Path
from typing import Literal

import dagster as dg
import duckdb
from pydantic import Field

from analytics_platform.defs.reports.dashboards.common import existing_tables, human_size
from analytics_platform.files import replaced_atomically
from analytics_platform.resources import WarehouseResource
from analytics_platform.warehouse import exists, quote_ident

EXPORTABLE_SCHEMAS = ("marts", "ml")
OPTIONS = {"csv": "FORMAT csv, HEADER true", "parquet": "FORMAT parquet, COMPRESSION zstd"}


class ExportConfig(dg.Config):
    """What to export."""

    tables: list[str] = Field(
        default=[],
        description="Tables to export: mart names (`fct_daily_revenue`) or `<schema>.<table>` for the `marts` and `ml` "
        "schemas (`ml.churn_scores`). Empty: every table of the `marts` schema.",
    )
    format: Literal["csv", "parquet", "both"] = Field(default="both", description="File format(s) to write.")


def resolve_tables(con: duckdb.DuckDBPyConnection, wanted: list[str]) -> list[tuple[str, str]]:
    """(schema, table) pairs to export; unknown names fail with the list of what exists."""
    available = {schema: existing_tables(con, schema) for schema in EXPORTABLE_SCHEMAS}
    if not wanted:
        if not available["marts"]:
            raise dg.Failure("The warehouse has no marts yet: materialize the dbt models first.")
        return [("marts", t) for t in sorted(available["marts"])]
    resolved, unknown = [], []
    for name in wanted:
        schema, _, table = name.strip().rpartition(".")
        schema = schema or "marts"
        if schema in available and table in available[schema]:
            resolved.append((schema, table))
        else:
            unknown.append(name)
    if unknown:
        choices = ", ".join(f"{s}.{t}" if s != "marts" else t for s in EXPORTABLE_SCHEMAS for t in sorted(available[s]))
        raise dg.Failure(f"Unknown table(s) {unknown}. Exportable: {choices or '(none yet)'}")
    return list(dict.fromkeys(resolved))


def export_table(con: duckdb.DuckDBPyConnection, schema: str, table: str, fmt: str, folder: Path) -> tuple[Path, int]:
    """Write one table; returns the file and the rows written."""
    final = folder / f"{table}.{fmt}"
    with replaced_atomically(final) as partial:
        path_literal = str(partial).replace("'", "''")
        rows = con.execute(f'COPY (SELECT * FROM {schema}.{quote_ident(table)}) TO \'{path_literal}\' ({OPTIONS[fmt]})').fetchone()[0]
    return final, int(rows)


def export_tables(warehouse: WarehouseResource, config: ExportConfig, log=None) -> list[dict]:
    formats = ["csv", "parquet"] if config.format == "both" else [config.format]
    root = warehouse.settings.reports_dir / "exports"
    written = []
    if not exists(warehouse.settings):
        raise dg.Failure("The warehouse is empty: nothing has been ingested yet.")
    with warehouse.connect(read_only=True) as con:
        for schema, table in resolve_tables(con, config.tables):
            for fmt in formats:
                started = time.perf_counter()
                path, rows = export_table(con, schema, table, fmt, root / schema)
                written.append({"table": f"{schema}.{table}", "format": fmt, "rows": rows, "path": str(path),
                                "size_bytes": path.stat().st_size, "seconds": round(time.perf_counter() - started, 2)})
                if log:
                    log(f"{schema}.{table} → {path} ({rows:,} rows, {human_size(path.stat().st_size)})")
    return written


@dg.op(
    name="export_tables",
    description="Write the chosen marts / ML tables to CSV and/or Parquet under `<reports_dir>/exports/`.",
    tags={"analytics/report": "export"},
)
def export_tables_op(context: dg.OpExecutionContext, config: ExportConfig, warehouse: WarehouseResource) -> dg.Output[list[str]]:
    written = export_tables(warehouse, config, context.log.info)
    table = "\n".join(f"| `{w['table']}` | {w['format']} | {w['rows']:,} | {human_size(w['size_bytes'])} | `{w['path']}` |" for w in written)
    return dg.Output(
        [w["path"] for w in written],
        metadata={
            "files": len(written),
            "rows": sum(w["rows"] for w in written),
            "size_bytes": sum(w["size_bytes"] for w in written),
            "folder": dg.MetadataValue.path(str(warehouse.settings.reports_dir / "exports")),
            "written": dg.MetadataValue.md("| table | format | rows | size | file |\n|---|---|---|---|---|\n" + table),
        },
    )


@dg.job(
    name="export_marts",
    description="On demand: export marts (and ML tables) to CSV / Parquet files under `<reports_dir>/exports/`. "
    "Config: `tables` (empty = every mart), `format` (csv | parquet | both).",
    tags={"analytics/report": "export"},
)
def export_marts() -> None:
    export_tables_op()
