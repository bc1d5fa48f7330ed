"""What the ML assets show on their pages: table metadata, markdown tables, the short-history skip."""

from __future__ import annotations

import dagster as dg
import polars as pl

from ml_assets.common import store
from ml_assets.common.history import NotEnoughHistory


def skipped_for_short_history(context: dg.AssetExecutionContext, short: NotEnoughHistory) -> dg.AssetObservation:
    """What an asset with ``output_required=False`` yields instead of a materialization when the
    history is too short: the reason, on the asset's page, next to a warning in the run log.

    No materialization means the previous table (if any) stays, and downstream steps of the same
    run are skipped, not failed; automation does not request them while this asset is missing.
    """
    context.log.warning(f"{context.asset_key.to_user_string()} skipped: {short}")
    return dg.AssetObservation(asset_key=context.asset_key, description=f"skipped: {short}", metadata={
        "skipped": str(short), "history_days": short.have_days, "required_history_days": short.need_days,
    })


_TYPES = {pl.Int64: "BIGINT", pl.Int32: "INTEGER", pl.UInt32: "INTEGER", pl.Float64: "DOUBLE", pl.Utf8: "VARCHAR",
          pl.Boolean: "BOOLEAN", pl.Date: "DATE"}


def _dagster_type(dtype: pl.DataType) -> str:
    if isinstance(dtype, pl.Datetime):
        return "TIMESTAMP"
    return _TYPES.get(type(dtype), str(dtype))


def table_metadata(frame: pl.DataFrame, name: str, docs: dict[str, str]) -> dict:
    """Standard metadata of a table the ML layer writes: name, schema with docs, row count."""
    return {
        "dagster/table_name": store.table_name(name),
        "dagster/row_count": frame.height,
        "dagster/column_schema": dg.TableSchema(columns=[
            dg.TableColumn(c, _dagster_type(frame.schema[c]), description=docs.get(c, "")) for c in frame.columns
        ]),
    }


def md_table(frame: pl.DataFrame, max_rows: int = 20, floats: int = 4) -> str:
    """A small frame as a markdown table."""
    head = frame.head(max_rows)
    header = "| " + " | ".join(head.columns) + " |\n|" + "---|" * len(head.columns) + "\n"

    def cell(v: object) -> str:
        if isinstance(v, float):
            return f"{v:.{floats}g}"
        return str(v).replace("|", "\\|")

    return header + "\n".join("| " + " | ".join(cell(v) for v in row) + " |" for row in head.iter_rows())
