"""Which uncontracted datasets the warehouse holds, and a fingerprint of their current content.

The fingerprint comes from the ingestion ledger (the hashes of the dataset's current file
versions), so it changes exactly when a file is added, corrected or superseded, without reading
the data itself.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import duckdb

from analytics_platform.defs.ingestion.contracts import UNCONTRACTED_SCHEMA
from analytics_platform.warehouse import quote_ident

LINEAGE_COLUMNS = ("_source_file", "_file_hash", "_loaded_at")


@dataclass(frozen=True)
class Dataset:
    name: str
    fingerprint: str
    rows: int | None = None  # rows loaded according to the ledger
    files: tuple[str, ...] = field(default=())

    @property
    def table(self) -> str:
        return qualified_table(self.name)


def qualified_table(name: str) -> str:
    return f"{UNCONTRACTED_SCHEMA}.{quote_ident(name)}"


def _exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    row = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = ? AND table_name = ?",
        [schema, table],
    ).fetchone()
    return bool(row and row[0])


def table_exists(con: duckdb.DuckDBPyConnection, dataset: str) -> bool:
    return _exists(con, UNCONTRACTED_SCHEMA, dataset)


def list_datasets(con: duckdb.DuckDBPyConnection) -> dict[str, Dataset]:
    """Every table in the uncontracted schema, with its ledger fingerprint (name → Dataset)."""
    names = [
        r[0]
        for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = ? ORDER BY 1",
            [UNCONTRACTED_SCHEMA],
        ).fetchall()
    ]
    ledger: dict[str, tuple[list[str], int, list[str]]] = {}
    if names and _exists(con, "meta", "ingest_ledger"):
        for target, hashes, rows, files in con.execute(
            "SELECT target_table, list(file_hash ORDER BY file_hash), sum(rows_loaded)::BIGINT, list(source_file ORDER BY source_file) "
            "FROM meta.ingest_ledger WHERE NOT contracted AND status = 'loaded' GROUP BY target_table"
        ).fetchall():
            ledger[target] = (hashes, rows, files)
    datasets = {}
    for name in names:
        hashes, rows, files = ledger.get(qualified_table(name), ([], None, []))
        digest = hashlib.sha256(",".join(hashes).encode()).hexdigest()[:16] if hashes else "no-ledger"
        datasets[name] = Dataset(name, digest, rows, tuple(files))
    return datasets


def dataset_state(con: duckdb.DuckDBPyConnection, name: str) -> Dataset | None:
    return list_datasets(con).get(name)
