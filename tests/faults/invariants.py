"""Warehouse invariants of the fault tests, checked from what a platform's warehouse holds
after a fault: exactly-once loading, the platform's own reconciliation check, ledger and
quarantine contents, and order-independent fingerprints of raw tables and dbt relations (to
compare an end state with that of an uninterrupted run)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from analytics_platform.defs.ingestion.contracts import load_contracts

if TYPE_CHECKING:
    from tests.faults.temp_platform import TempPlatform


def table_fingerprints(platform: TempPlatform) -> dict[str, tuple[int, int]]:
    """Per raw table: (rows, order-independent checksum of all values except the load time)."""
    out = {}
    with platform.connect() as con:
        for c in load_contracts():
            rows, checksum = con.execute(
                f"SELECT count(*), coalesce(sum(hash(t)), 0)::HUGEINT FROM (SELECT * EXCLUDE (_loaded_at) FROM {c.qualified_table}) t"
            ).fetchone()
            out[c.name] = (int(rows), int(checksum))
    return out


def exactly_once_violations(platform: TempPlatform) -> list[str]:
    """Every current ledger entry's rows are in its table exactly once, nothing else is, and no
    content hash is loaded twice: the loader's exactly-once promise, checked from the warehouse."""
    problems = []
    with platform.connect() as con:
        dupes = con.execute(
            "SELECT file_hash, count(*) FROM meta.ingest_ledger WHERE status = 'loaded' GROUP BY ALL HAVING count(*) > 1"
        ).fetchall()
        problems += [f"file hash {h[:12]} has {n} 'loaded' ledger rows" for h, n in dupes]
        names = con.execute(
            "SELECT source_file, count(*) FROM meta.ingest_ledger WHERE status = 'loaded' GROUP BY ALL HAVING count(*) > 1"
        ).fetchall()
        problems += [f"{f} has {n} current versions" for f, n in names]
        for c in load_contracts():
            rows = con.execute(
                f"""
                WITH ledger AS (
                    SELECT file_hash, any_value(source_file) AS source_file, sum(rows_in_file) AS expected
                    FROM meta.ingest_ledger WHERE status = 'loaded' AND target_table = ? GROUP BY ALL
                ), loaded AS (SELECT _file_hash, count(*) AS n FROM {c.qualified_table} GROUP BY ALL)
                SELECT coalesce(l.source_file, '(no ledger row) ' || t._file_hash), coalesce(l.expected, 0), coalesce(t.n, 0)
                FROM ledger l FULL OUTER JOIN loaded t ON t._file_hash = l.file_hash
                WHERE coalesce(l.expected, 0) <> coalesce(t.n, 0)
                """,
                [c.qualified_table],
            ).fetchall()
            problems += [f"{c.name}: {f}: ledger says {e} rows, table holds {n}" for f, e, n in rows]
    return problems


def reconciliation_results(platform: TempPlatform) -> dict[str, bool]:
    """The platform's own row_reconciliation check, per raw table, on the committed warehouse."""
    from analytics_platform.defs.ingestion.checks import run_table_checks

    with platform.connect() as con:
        return {c.name: next(run_table_checks(con, c, {"row_reconciliation"})).passed for c in load_contracts()}


def ledger_files(platform: TempPlatform) -> dict[str, int]:
    return dict(platform.query("SELECT source_file, rows_in_file FROM meta.ingest_ledger WHERE status = 'loaded'"))


def quarantined(platform: TempPlatform) -> dict[str, str]:
    return dict(platform.query("SELECT source_file, reason_code FROM meta.quarantine"))


def mart_tables(platform: TempPlatform) -> list[str]:
    return [f"{s}.{t}" for s, t in platform.query(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name NOT IN ('raw', 'meta', 'uncontracted') AND table_name NOT LIKE '%__dbt_%' ORDER BY ALL")]


def relation_fingerprints(platform: TempPlatform, relations: list[str], exclude: tuple[str, ...] = ()) -> dict[str, tuple[int, int]]:
    """(rows, checksum) per relation, leaving out columns whose values depend on the run time."""
    out = {}
    with platform.connect() as con:
        for rel in relations:
            schema, table = rel.split(".", 1)
            cols = con.execute(
                "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = current_database() "
                "AND schema_name = ? AND table_name = ? ORDER BY column_index",
                [schema, table]).fetchall()
            # Floating-point sums depend on the order parallel threads add them up: round them.
            select = ", ".join(
                f'round("{c}", 6)' if t in ("DOUBLE", "FLOAT", "REAL") else f'"{c}"'
                for c, t in cols if not any(re.search(p, c) for p in exclude)
            ) or "1"
            rows, checksum = con.execute(f'SELECT count(*), coalesce(sum(hash(t)), 0)::HUGEINT FROM (SELECT {select} FROM "{schema}"."{table}") t').fetchone()
            out[rel] = (int(rows), int(checksum))
    return out
