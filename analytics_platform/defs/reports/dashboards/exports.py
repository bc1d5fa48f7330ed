"""On-demand exports of the marts (and ML tables) to CSV and/or Parquet files.

Launch the ``export_marts`` job from the UI (Launchpad) or the command line with a typed config:
which tables (mart names, or ``ml.<table>``; empty = every mart) and which format. DuckDB
streams each table straight to ``<reports_dir>/exports/<schema>/<table>.<csv|parquet>``, through
``files.replaced_atomically``, so a reader never sees half a file. In shared mode the same names
sit under ``files.reports_root`` on the object store, where DuckDB's multipart upload makes an
object appear whole when the COPY completes.
"""

import time
from pathlib import Path
from typing import Literal

import dagster as dg
import duckdb
from pydantic import Field

from analytics_platform import object_store
from analytics_platform.defs.reports.dashboards.common import existing_tables, human_size
from analytics_platform.files import replaced_atomically, reports_root
from analytics_platform.resources import WarehouseResource
from analytics_platform.settings import Settings
from analytics_platform.warehouse import exists, quote_ident, quote_literal

EXPORTABLE_SCHEMAS = ("marts", "ml")
OPTIONS = {"csv": "FORMAT csv, HEADER true", "parquet": "FORMAT parquet, COMPRESSION zstd"}


def exports_root(settings: Settings) -> Path | str:
    root = reports_root(settings)
    return root / "exports" if isinstance(root, Path) else f"{root}exports/"


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


def _copy(con: duckdb.DuckDBPyConnection, schema: str, table: str, fmt: str, target: str) -> int:
    return int(con.execute(f"COPY (SELECT * FROM {schema}.{quote_ident(table)}) TO {quote_literal(target)} ({OPTIONS[fmt]})").fetchone()[0])


def export_table(con: duckdb.DuckDBPyConnection, settings: Settings, schema: str, table: str, fmt: str, folder: Path | str) -> tuple[str, int, int]:
    """Write one table into ``folder`` (a path, or an ``s3://…/`` prefix); the file, its rows and its size."""
    if isinstance(folder, str):
        url = f"{folder}{table}.{fmt}"
        rows = _copy(con, schema, table, fmt, url)
        return url, rows, object_store.size(settings.shared, url)
    final = folder / f"{table}.{fmt}"
    with replaced_atomically(final) as partial:
        rows = _copy(con, schema, table, fmt, str(partial))
    return str(final), rows, final.stat().st_size


def export_tables(warehouse: WarehouseResource, config: ExportConfig, log=None) -> list[dict]:
    formats = ["csv", "parquet"] if config.format == "both" else [config.format]
    root = exports_root(warehouse.settings)
    written = []
    if not exists(warehouse.settings):
        raise dg.Failure("The warehouse is empty: nothing has been ingested yet.")
    with warehouse.connect(read_only=True) as con:
        for schema, table in resolve_tables(con, config.tables):
            for fmt in formats:
                started = time.perf_counter()
                folder = root / schema if isinstance(root, Path) else f"{root}{schema}/"
                path, rows, size = export_table(con, warehouse.settings, schema, table, fmt, folder)
                written.append({"table": f"{schema}.{table}", "format": fmt, "rows": rows, "path": path,
                                "size_bytes": size, "seconds": round(time.perf_counter() - started, 2)})
                if log:
                    log(f"{schema}.{table} → {path} ({rows:,} rows, {human_size(size)})")
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
            "folder": dg.MetadataValue.path(str(exports_root(warehouse.settings))),
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
