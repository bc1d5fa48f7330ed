"""Bookkeeping tables in the warehouse's ``meta`` schema.

``meta.ingest_ledger`` has one row per file version, keyed by content hash: it is written in the
same transaction as the file's rows, which is what makes a load exactly-once. ``meta.quarantine``
lists rejected files with a machine-readable code and a sentence for people.
``meta.gdpr_erasures`` is written by the GDPR erasure job (``defs/transform/gdpr.py``): rows it
deleted per table and file hash, which ``row_reconciliation`` subtracts from the ledger's counts.
``meta.gdpr_erased_ids`` lists what was erased, ids only: each erased customer and their orders and
sessions (written by the job, and by the loader when a later file reveals a new order or session
of theirs); the loader does not load rows about them again (``erasure_filter.py``) and counts them
per file in the ledger's ``rows_suppressed``. Both are created here, so the loader and the check can
read them before any customer was erased.
"""

from __future__ import annotations

import duckdb

from analytics_platform.defs.ingestion.contracts import RAW_SCHEMA, UNCONTRACTED_SCHEMA, Contract
from analytics_platform.warehouse import quote_ident, with_retry

LINEAGE_COLUMNS = "_source_file VARCHAR, _file_hash VARCHAR, _loaded_at TIMESTAMP"

# Erasures: rows deleted (written by the GDPR job, defs/transform/gdpr.py; subtracted by
# row_reconciliation) and the ids erased (read by the loader, erasure_filter.py).
ERASURES_DDL = """
CREATE TABLE IF NOT EXISTS meta.gdpr_erasures (
    customer_id BIGINT, table_name VARCHAR, source_file VARCHAR, file_hash VARCHAR,
    rows_deleted BIGINT, run_id VARCHAR, erased_at TIMESTAMP
);
CREATE TABLE IF NOT EXISTS meta.gdpr_erased_ids (
    customer_id BIGINT,        -- the erased customer
    id_column VARCHAR,         -- customer_id | order_id | session_id
    id_value VARCHAR,          -- the id, as text (order ids are numbers, session ids text)
    source_file VARCHAR,       -- the landing file that revealed it; NULL: found by the erasure job
    run_id VARCHAR, recorded_at TIMESTAMP
);
"""

DDL = f"""
CREATE SCHEMA IF NOT EXISTS meta;
CREATE SCHEMA IF NOT EXISTS {RAW_SCHEMA};
CREATE SCHEMA IF NOT EXISTS {UNCONTRACTED_SCHEMA};
CREATE TABLE IF NOT EXISTS meta.ingest_ledger (
    file_hash VARCHAR, source_file VARCHAR, target_table VARCHAR, contracted BOOLEAN,
    status VARCHAR,            -- loaded | superseded
    version INTEGER,           -- 1 for the first delivery of a file name, +1 per correction
    rows_in_file BIGINT, rows_loaded BIGINT, rows_rejected BIGINT,
    size_bytes BIGINT, mtime_ns BIGINT, detected VARCHAR,
    run_id VARCHAR, loaded_at TIMESTAMP, superseded_at TIMESTAMP,
    rows_suppressed BIGINT     -- rows about erased customers, not loaded (rows_loaded excludes them)
);
-- Ledgers created before suppression existed get the column (a no-op once it is there).
ALTER TABLE meta.ingest_ledger ADD COLUMN IF NOT EXISTS rows_suppressed BIGINT DEFAULT 0;
CREATE TABLE IF NOT EXISTS meta.quarantine (
    file_hash VARCHAR, source_file VARCHAR, target_table VARCHAR, reason_code VARCHAR,
    reason VARCHAR, details VARCHAR, quarantine_path VARCHAR, run_id VARCHAR, quarantined_at TIMESTAMP
);
-- The rejected version's size and time: an object left in its landing prefix is not read again.
ALTER TABLE meta.quarantine ADD COLUMN IF NOT EXISTS size_bytes BIGINT;
ALTER TABLE meta.quarantine ADD COLUMN IF NOT EXISTS mtime_ns BIGINT;
{ERASURES_DDL}"""


def ensure_schema(con: duckdb.DuckDBPyConnection, contracts: tuple[Contract, ...] = ()) -> None:
    """Meta tables, schemas, and one raw table per contract (so dbt sources exist before data)."""
    tables = "".join(
        f"CREATE TABLE IF NOT EXISTS {c.qualified_table} ("
        + ", ".join(f"{quote_ident(col.name)} {col.type}" for col in c.columns)
        + f", {LINEAGE_COLUMNS});"
        for c in contracts
    )
    with_retry(lambda: con.execute(DDL + tables), what="creating warehouse tables")


def handled_stats(con: duckdb.DuckDBPyConnection) -> set[tuple[str, int, int]]:
    """(file, size, mtime) of versions loaded or quarantined: nothing more to do with them."""
    rows = con.execute("SELECT source_file, size_bytes, mtime_ns FROM meta.ingest_ledger UNION "
                       "SELECT source_file, size_bytes, mtime_ns FROM meta.quarantine").fetchall()
    return {(f, s, m) for f, s, m in rows}


def loaded_hashes(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute("SELECT file_hash FROM meta.ingest_ledger").fetchall()}


def known_stats(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, int, int], str]:
    """(file, size, mtime) → hash of versions already loaded: unchanged files skip re-hashing."""
    rows = con.execute("SELECT source_file, size_bytes, mtime_ns, file_hash FROM meta.ingest_ledger").fetchall()
    return {(f, s, m): h for f, s, m, h in rows}


def current_versions(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, int, str]]:
    """source_file → (hash, version, target table) of its current (not superseded) version."""
    rows = con.execute(
        "SELECT source_file, file_hash, version, target_table FROM meta.ingest_ledger WHERE status = 'loaded'"
    ).fetchall()
    return {f: (h, v, t) for f, h, v, t in rows}


def loads_since(con: duckdb.DuckDBPyConnection, table: str, since_utc: float | None, run_id: str) -> dict[str, tuple[int, int]]:
    """Per other run: (files, rows) it loaded into ``table`` after ``since_utc`` (epoch; None = ever)."""
    rows = con.execute(
        "SELECT run_id, count(*), coalesce(sum(rows_loaded), 0)::BIGINT FROM meta.ingest_ledger WHERE target_table = ? "
        "AND status = 'loaded' AND run_id <> ? AND loaded_at > make_timestamp((? * 1e6)::BIGINT) GROUP BY run_id",
        [table, run_id, 0.0 if since_utc is None else since_utc],
    ).fetchall()
    return {r: (int(files), int(n)) for r, files, n in rows}
