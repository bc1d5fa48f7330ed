"""Checks on the raw tables, computed from the warehouse itself (not from the loader's memory).

- ``row_reconciliation``: for every current file version, rows in the table with its hash equal
  the records the ledger counted in the file independently of DuckDB's CSV sniffer, less the rows
  about erased customers the loader left out (the ledger's ``rows_suppressed``, written with the
  load) and less the rows a GDPR erasure deleted from that file later (``meta.gdpr_erasures``,
  written by the erasure in the same transaction as its deletes). Catches lost or doubled rows
  after a crash, a retry or a bad correction; rows gone without such a record still fail it.
- ``primary_key_unique``: no two current rows share primary key and incremental key (WARN:
  exact re-deliveries happen at the source; staging keeps one).
- ``required_columns_not_null``.
"""


from collections.abc import Iterator

import dagster as dg

from analytics_platform.defs.ingestion.contracts import RAW_SCHEMA, Contract, load_contracts
from analytics_platform.warehouse import quote_ident, with_retry

CONTRACTS = load_contracts()


def raw_asset_key(name: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", name])


TABLE_CHECKS = {
    "row_reconciliation": ("Rows per file in the table = records counted in the file (ledger) less rows suppressed or erased for GDPR.", True),
    "primary_key_unique": ("No duplicate primary key + incremental key among loaded rows (WARN).", False),
    "required_columns_not_null": ("Required columns are never null.", True),
}


def table_check_specs(c: Contract) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(name, asset=raw_asset_key(c.name), description=description, blocking=blocking)
        for name, (description, blocking) in TABLE_CHECKS.items()
    ]


def run_table_checks(con, c: Contract, names: set[str]) -> Iterator[dg.AssetCheckResult]:
    """The checks in ``names`` for one raw table, computed from the committed warehouse."""
    for name, run in (("row_reconciliation", _reconcile), ("primary_key_unique", _pk), ("required_columns_not_null", _not_null)):
        if name in names:
            yield with_retry(lambda run=run: run(con, c), what=f"check {name} on {c.name}")


def _reconcile(con, c: Contract) -> dg.AssetCheckResult:
    # One statement, so ledger, erasures and table are read in the same snapshot. The erasure
    # names its table as DuckDB lists it (raw.x), the ledger as it was loaded (raw."x").
    rows = con.execute(
        f"""
        WITH files AS (
            SELECT file_hash, source_file, rows_in_file, rows_suppressed FROM meta.ingest_ledger
            WHERE status = 'loaded' AND target_table = ?
        ), erased AS (
            SELECT file_hash, sum(rows_deleted)::BIGINT AS n FROM meta.gdpr_erasures WHERE table_name = ? GROUP BY ALL
        ),
        loaded AS (SELECT _file_hash, count(*) AS n FROM {c.qualified_table} GROUP BY ALL)
        SELECT f.source_file, f.rows_in_file, coalesce(f.rows_suppressed, 0) AS rows_suppressed, coalesce(e.n, 0) AS rows_erased, """
        f"""coalesce(l.n, 0) AS rows_loaded
        FROM files f FULL OUTER JOIN loaded l ON l._file_hash = f.file_hash
        LEFT JOIN erased e ON e.file_hash = f.file_hash
        """,
        [c.qualified_table, f"{RAW_SCHEMA}.{c.name}"],
    ).fetchall()
    rejected = con.execute(
        "SELECT count(*), coalesce(sum(TRY_CAST(json_extract_string(details, '$.rows_in_file') AS BIGINT)), 0) "
        "FROM meta.quarantine WHERE target_table = ?",
        [c.qualified_table],
    ).fetchone()
    mismatched = [
        {"file": f or "(rows with no ledger entry)", "rows_in_file": n or 0, "rows_suppressed": suppressed, "rows_erased": erased, "rows_loaded": loaded}
        for f, n, suppressed, erased, loaded in rows
        if (n or 0) - suppressed - erased != loaded
    ]
    return dg.AssetCheckResult(
        asset_key=raw_asset_key(c.name),
        check_name="row_reconciliation",
        passed=not mismatched,
        metadata={
            "files": len(rows),
            "rows_in_files": sum(n or 0 for _, n, *_ in rows),
            "rows_suppressed": sum(suppressed for _, _, suppressed, _, _ in rows),
            "rows_erased": sum(erased for *_, erased, _ in rows),
            "rows_loaded": sum(loaded for *_, loaded in rows),
            "files_quarantined": rejected[0] if rejected else 0,
            "mismatched_files": dg.MetadataValue.json(mismatched[:50]),
        },
    )


def _pk(con, c: Contract) -> dg.AssetCheckResult:
    if not c.primary_key:
        return dg.AssetCheckResult(
            asset_key=raw_asset_key(c.name), check_name="primary_key_unique", passed=True,
            metadata={"note": "the contract declares no primary key"},
        )
    key = ", ".join(quote_ident(k) for k in (*c.primary_key, *([c.incremental_key] if c.incremental_key else [])))
    duplicated, extra_rows = con.execute(
        f"SELECT count(*), coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM {c.qualified_table} GROUP BY {key} HAVING n > 1)"
    ).fetchone()
    return dg.AssetCheckResult(
        asset_key=raw_asset_key(c.name),
        check_name="primary_key_unique",
        passed=duplicated == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"duplicated_keys": duplicated, "surplus_rows": extra_rows},
    )


def _not_null(con, c: Contract) -> dg.AssetCheckResult:
    counts = con.execute(
        "SELECT " + ", ".join(f"count(*) FILTER (WHERE {quote_ident(r)} IS NULL)" for r in c.required_columns)
        + f" FROM {c.qualified_table}"
    ).fetchone()
    nulls = {r: n for r, n in zip(c.required_columns, counts or [], strict=False) if n}
    return dg.AssetCheckResult(
        asset_key=raw_asset_key(c.name), check_name="required_columns_not_null", passed=not nulls,
        metadata={"null_counts": dg.MetadataValue.json(nulls)},
    )
