"""Landing-file layouts, mirroring ``defs/ingestion/contracts/*.yaml``.

The generator keeps its own copy (instead of reading the YAML at run
time) so it stays importable on its own; ``tests/sample_data`` checks the
two never drift apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class TableSpec:
    source: str
    table: str
    fmt: str  # csv | parquet | ndjson
    columns: tuple[tuple[str, str, bool], ...]  # (name, duckdb type, required)

    @property
    def key(self) -> str:
        return f"{self.source}.{self.table}"

    @property
    def names(self) -> list[str]:
        return [c[0] for c in self.columns]


def _cols(spec: str) -> tuple[tuple[str, str, bool], ...]:
    """Parse 'name:TYPE[!]' (``!`` = required) separated by spaces."""
    out = []
    for item in spec.split():
        name, typ = item.split(":")
        out.append((name, typ.rstrip("!"), typ.endswith("!")))
    return tuple(out)


SPECS: dict[str, TableSpec] = {s.key: s for s in (
    TableSpec("shop", "customers", "csv", _cols(
        "customer_id:BIGINT! email:VARCHAR! first_name:VARCHAR last_name:VARCHAR "
        "country_code:VARCHAR! acquisition_channel:VARCHAR! signed_up_at:TIMESTAMP! "
        "updated_at:TIMESTAMP!")),
    TableSpec("shop", "products", "csv", _cols(
        "product_id:BIGINT! product_name:VARCHAR! category:VARCHAR! "
        "unit_price:DECIMAL(10,2)! unit_cost:DECIMAL(10,2)! updated_at:TIMESTAMP!")),
    TableSpec("shop", "orders", "parquet", _cols(
        "order_id:BIGINT! customer_id:BIGINT! session_id:VARCHAR ordered_at:TIMESTAMP! "
        "status:VARCHAR! channel:VARCHAR! country_code:VARCHAR! "
        "order_total:DECIMAL(12,2)! updated_at:TIMESTAMP!")),
    TableSpec("shop", "order_items", "parquet", _cols(
        "order_item_id:BIGINT! order_id:BIGINT! product_id:BIGINT! quantity:INTEGER! "
        "unit_price:DECIMAL(10,2)! updated_at:TIMESTAMP!")),
    TableSpec("shop", "payments", "csv", _cols(
        "payment_id:BIGINT! order_id:BIGINT! payment_method:VARCHAR! "
        "amount:DECIMAL(12,2)! paid_at:TIMESTAMP!")),
    TableSpec("web", "sessions", "ndjson", _cols(
        "session_id:VARCHAR! customer_id:BIGINT started_at:TIMESTAMP! channel:VARCHAR! "
        "device:VARCHAR! country_code:VARCHAR!")),
    TableSpec("web", "events", "csv", _cols(
        "event_id:VARCHAR! session_id:VARCHAR! customer_id:BIGINT event_type:VARCHAR! "
        "product_id:BIGINT occurred_at:TIMESTAMP!")),
    TableSpec("marketing", "ad_spend", "csv", _cols(
        "spend_date:DATE! channel:VARCHAR! country_code:VARCHAR! spend:DECIMAL(12,2)! "
        "impressions:BIGINT! clicks:BIGINT!")),
    TableSpec("experiments", "assignments", "ndjson", _cols(
        "experiment_id:VARCHAR! customer_id:BIGINT! variant:VARCHAR! assigned_at:TIMESTAMP!")),
    TableSpec("experiments", "exposures", "ndjson", _cols(
        "exposure_id:VARCHAR! experiment_id:VARCHAR! customer_id:BIGINT! session_id:VARCHAR! "
        "exposed_at:TIMESTAMP!")),
)}


def polars_type(duck: str) -> pl.DataType:
    """Polars dtype holding a value of the given DuckDB type."""
    m = re.fullmatch(r"DECIMAL\((\d+),(\d+)\)", duck)
    if m:
        return pl.Decimal(int(m.group(1)), int(m.group(2)))
    return {"BIGINT": pl.Int64(), "INTEGER": pl.Int32(), "VARCHAR": pl.Utf8(),
            "TIMESTAMP": pl.Datetime("us"), "DATE": pl.Date()}[duck]


def conform(df: pl.DataFrame, spec: TableSpec) -> pl.DataFrame:
    """Select the contract columns in order (plus ``_file_date``) with contract types.

    Money arrives as integer cents in ``<name>_cents`` columns and becomes
    an exact 2-digit decimal here.
    """
    exprs = [pl.col("_file_date").cast(pl.Date)]
    for name, typ, _ in spec.columns:
        dtype = polars_type(typ)
        if isinstance(dtype, pl.Decimal) and f"{name}_cents" in df.columns:
            exprs.append((pl.col(f"{name}_cents").cast(pl.Float64) / 100).cast(dtype).alias(name))
        else:
            exprs.append(pl.col(name).cast(dtype))
    return df.select(exprs)
