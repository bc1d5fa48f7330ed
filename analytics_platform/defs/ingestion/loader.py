"""Landing files → raw tables, exactly once, all or nothing per file.

Each file is fingerprinted, read into a staging table and validated against its contract and an
independent record count. Valid files are committed together with their ledger rows (one DuckLake
transaction per group of files of one table, so each file is whole or absent); bad files are
quarantined with their reason; good files beside them still load.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from analytics_platform.defs.ingestion import ledger, readers
from analytics_platform.defs.ingestion.contracts import UNCONTRACTED_SCHEMA, Contract, contract_for, quote_ident
from analytics_platform.defs.ingestion.files import Fingerprint, LandedFile, fingerprint
from analytics_platform.defs.ingestion.quarantine import quarantine_file
from analytics_platform.defs.ingestion.readers import Rejected, Staged, sql_literal
from analytics_platform.warehouse import transaction

GROUP_ROWS = 2_000_000  # rows staged in memory before a commit; bounds memory at scale 10
UNCONTRACTED_KEY = "uncontracted"


def dataset_name(relative: str) -> str:
    """A safe table name for an uncontracted dataset: its folder path (or file stem at the top)."""
    parts = Path(relative).parent.parts or (Path(relative).stem,)
    name = re.sub(r"[^a-z0-9]+", "_", "__".join(parts).lower()).strip("_")
    name = name if name and name[0].isalpha() else f"d_{name}"
    return name[:60]


@dataclass
class Pending:
    file: LandedFile
    fp: Fingerprint
    target: str  # key of the raw asset: contract name or "uncontracted"
    table: str  # qualified SQL table name
    contract: Contract | None
    staged: Staged
    expected: int  # records counted independently of the reader


@dataclass
class IngestReport:
    loaded: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    duplicates: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    quarantined: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    deferred: list[dict[str, Any]] = field(default_factory=list)  # unreadable now: retried next run

    def targets(self) -> set[str]:
        return set(self.loaded) | set(self.quarantined) | set(self.duplicates)


def _expected_rows(con: duckdb.DuckDBPyConnection, file: LandedFile, fp: Fingerprint, contract: Contract | None, staged: Staged) -> int:
    """Records in the file counted without the sniffer's dialect (reconciliation's other side)."""
    if file.path.suffix.lower() == ".parquet" or (contract and contract.format == "parquet"):
        return int(staged.detected.get("rows_in_footer", staged.rows))
    header = 1 if staged.detected.get("has_header", False) else 0
    if not fp.has_quote and fp.encoding != "utf-16":
        return fp.records - header - int(staged.detected.get("skip_rows", 0) or 0)
    # Quoted fields may hold newlines (and UTF-16 has two-byte ones): count records with
    # Python's csv module, a parser independent of DuckDB's, on the decoded text.
    with file.path.open(encoding=fp.encoding or "utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter=staged.detected.get("delimiter") or ",",
                            quotechar=staged.detected.get("quote") or '"')
        records = sum(1 for record in reader if record)
    return records - header - int(staged.detected.get("skip_rows", 0) or 0)


def _stage(con: duckdb.DuckDBPyConnection, file: LandedFile, fp: Fingerprint, contract: Contract | None, stage: str) -> Staged:
    if fp.size == 0:
        raise Rejected("empty_file", "The file is empty (0 bytes).")
    kind = contract.format if contract else file.path.suffix.lower().lstrip(".")
    if kind == "parquet":
        return readers.stage_parquet(con, file, stage, contract)
    if fp.encoding is None:
        raise Rejected("nul_bytes", "The file contains NUL bytes: binary data or UTF-16 without a byte-order mark, not text.")
    if kind in ("ndjson", "jsonl", "json"):
        if fp.encoding != "utf-8":
            raise Rejected("undecodable", f"JSON must be UTF-8; this file looks like {fp.encoding}.")
        return readers.stage_ndjson(con, file, fp, stage, contract)
    if kind in ("csv", "tsv", "txt"):
        staged = readers.stage_csv(con, file, fp, stage, contract)
        if contract is None:
            readers.infer_csv_types(con, file, stage, staged)
        return staged
    raise Rejected("unsupported_format", f"No reader for '.{kind}' files (csv, tsv, parquet, ndjson are read).")


def ingest(
    con: duckdb.DuckDBPyConnection,
    files: list[LandedFile],
    contracts: tuple[Contract, ...],
    quarantine_dir: Path,
    run_id: str,
    wanted: set[str] | None = None,
    log: Callable[[str], None] = print,
) -> IngestReport:
    """Load ``files`` (those whose target is in ``wanted``, or all). Safe to re-run at any point."""
    ledger.ensure_schema(con, contracts)
    report = IngestReport()
    known = ledger.known_stats(con)
    seen = ledger.loaded_hashes(con)
    current = ledger.current_versions(con)
    pending: dict[str, list[Pending]] = defaultdict(list)
    for index, file in enumerate(files):
        contract = contract_for(file.relative, contracts)
        target = contract.name if contract else UNCONTRACTED_KEY
        if wanted is not None and target not in wanted:
            continue
        if (file.relative, file.size, file.mtime_ns) in known:
            continue  # unchanged since it was loaded: nothing to do, nothing to report
        try:
            fp = fingerprint(file.path)
        except OSError as error:
            report.deferred.append({"file": file.relative, "error": str(error)})
            log(f"deferred {file.relative}: {error}")
            continue
        if fp.sha256 in seen:
            report.duplicates[target].append({"file": file.relative, "file_hash": fp.sha256})
            log(f"duplicate {file.relative}: content already loaded, skipped")
            continue
        table = contract.qualified_table if contract else f"{UNCONTRACTED_SCHEMA}.{quote_ident(dataset_name(file.relative))}"
        try:
            staged = _stage(con, file, fp, contract, f"stage_{index}")
            expected = _expected_rows(con, file, fp, contract, staged)
            if expected != staged.rows:
                raise Rejected(
                    "row_count_mismatch",
                    f"The file holds {expected} records but {staged.rows} rows were read: the dialect was misread, nothing is loaded.",
                    rows_in_file=expected, rows_read=staged.rows,
                )
        except Rejected as rejected:
            record = quarantine_file(con, file, fp.sha256, table, rejected, quarantine_dir, run_id)
            report.quarantined[target].append(record)
            log(f"quarantined {file.relative}: {rejected.code}: {rejected.message}")
            continue
        seen.add(fp.sha256)
        pending[target].append(Pending(file, fp, target, table, contract, staged, expected))
        if target != UNCONTRACTED_KEY and sum(p.staged.rows for p in pending[target]) >= GROUP_ROWS:
            _commit(con, pending.pop(target), current, run_id, report, quarantine_dir, log)
    for group in pending.values():
        _commit(con, group, current, run_id, report, quarantine_dir, log)
    return report


def _insert(c: duckdb.DuckDBPyConnection, p: Pending, version: int, run_id: str, now: datetime) -> None:
    lineage = f"{sql_literal(p.file.relative)} AS _source_file, {sql_literal(p.fp.sha256)} AS _file_hash, {sql_literal(now.isoformat(sep=' '))}::TIMESTAMP AS _loaded_at"
    if p.contract is None:
        exists = c.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = ? AND table_name = ?",
            [UNCONTRACTED_SCHEMA, dataset_name(p.file.relative)],
        ).fetchone()[0]  # type: ignore[index]
        if not exists:
            c.execute(f"CREATE TABLE {p.table} AS SELECT *, {lineage} FROM {p.staged.name} LIMIT 0")
        have = {r[0] for r in c.execute(f"DESCRIBE {p.table}").fetchall()}
        for name, dtype, *_ in c.execute(f"DESCRIBE {p.staged.name}").fetchall():
            if name not in have:
                c.execute(f"ALTER TABLE {p.table} ADD COLUMN {quote_ident(name)} {dtype}")
        c.execute(f"INSERT INTO {p.table} BY NAME SELECT *, {lineage} FROM {p.staged.name}")
    else:
        c.execute(f"INSERT INTO {p.table} SELECT {p.staged.select_sql}, {lineage} FROM {p.staged.name}")
    c.execute(
        "INSERT INTO meta.ingest_ledger VALUES (?, ?, ?, ?, 'loaded', ?, ?, ?, 0, ?, ?, ?, ?, ?, NULL)",
        [p.fp.sha256, p.file.relative, p.table, p.contract is not None, version, p.expected, p.staged.rows,
         p.fp.size, p.file.mtime_ns, readers.describe(p.staged.detected), run_id, now],
    )


def _commit(con, group: list[Pending], current, run_id: str, report: IngestReport, quarantine_dir: Path, log) -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    contracted = group[0].contract is not None
    batches = [group] if contracted else [[p] for p in group]  # uncontracted: schemas may clash
    for batch in batches:
        def body(c: duckdb.DuckDBPyConnection, batch: list[Pending] = batch) -> list[int]:
            versions = []
            for p in batch:
                previous = current.get(p.file.relative)
                if previous:  # a corrected re-delivery replaces the rows of the version before
                    c.execute(f"DELETE FROM {previous[2]} WHERE _source_file = ?", [p.file.relative])
                    c.execute(
                        "UPDATE meta.ingest_ledger SET status = 'superseded', superseded_at = ? WHERE source_file = ? AND status = 'loaded'",
                        [now, p.file.relative],
                    )
                versions.append(previous[1] + 1 if previous else 1)
                _insert(c, p, versions[-1], run_id, now)
            return versions

        try:
            versions = transaction(con, body)
        except duckdb.Error as error:
            if contracted:
                raise
            p = batch[0]
            rejected = Rejected("incompatible_schema", f"Does not fit the dataset's existing table {p.table}: {str(error).splitlines()[0]}")
            report.quarantined[p.target].append(quarantine_file(con, p.file, p.fp.sha256, p.table, rejected, quarantine_dir, run_id))
            continue
        for p, version in zip(batch, versions):
            current[p.file.relative] = (p.fp.sha256, version, p.table)
            report.loaded[p.target].append(
                {"file": p.file.relative, "file_hash": p.fp.sha256, "rows": p.staged.rows, "version": version,
                 "table": p.table, "detected": p.staged.detected}
            )
            con.execute(f"DROP TABLE IF EXISTS {p.staged.name}")
        log(f"committed {len(batch)} file(s), {sum(p.staged.rows for p in batch):,} rows into {batch[0].table}")
