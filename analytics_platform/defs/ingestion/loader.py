"""Landing files → raw tables, exactly once, all or nothing per file.

Each file is fingerprinted, read into a staging table and validated against its contract and an
independent record count. Valid files are committed together with their ledger rows (one DuckLake
transaction per group of files of one table, so each file is whole or absent); bad files are
quarantined with their reason; good files beside them still load. Rows about customers erased
for GDPR are left out of the insert and counted (``erasure_filter.py``).

Kept as one module of ~300 lines on purpose: the exactly-once argument (stage, validate, commit
with the ledger row, quarantine) reads top to bottom here; reading and batching live beside it.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from analytics_platform.defs.ingestion import diagnose, erasure_filter, ledger, readers
from analytics_platform.defs.ingestion.batch import PATH_COLUMN, batchable, stage_batch
from analytics_platform.defs.ingestion.contracts import UNCONTRACTED_SCHEMA, Contract, contract_for
from analytics_platform.defs.ingestion.datasets import dataset_name
from analytics_platform.defs.ingestion.files import Fingerprint, LandedFile, fingerprint
from analytics_platform.defs.ingestion.quarantine import quarantine_file
from analytics_platform.defs.ingestion.readers import Rejected, Staged
from analytics_platform.warehouse import quote_ident, quote_literal, transaction, with_retry

CHUNK_BYTES = 256 << 20  # file bytes staged in memory per commit; bounds memory at scale 10
UNCONTRACTED_KEY = "uncontracted"


@dataclass
class Member:
    """One file inside a staged unit, with its independently counted records."""

    file: LandedFile
    fp: Fingerprint
    rows: int


@dataclass
class Pending:
    """Rows staged for one table: one file, or a batch of files read together."""

    target: str  # key of the raw asset: contract name or "uncontracted"
    table: str  # qualified SQL table name
    contract: Contract | None
    staged: Staged
    members: list[Member]
    path_column: str | None = None  # set for batches: which staged row came from which file

    def source_sql(self, now: datetime) -> str:
        """Typed contract columns + lineage, ready for ``INSERT INTO table``."""
        loaded_at = f"{quote_literal(now.isoformat(sep=' '))}::TIMESTAMP AS _loaded_at"
        if self.path_column is None:
            (m,) = self.members
            lineage = f"{quote_literal(m.file.source)} AS _source_file, {quote_literal(m.fp.sha256)} AS _file_hash"
            return f"SELECT {self.staged.select_sql}, {lineage}, {loaded_at} FROM {self.staged.name}"
        files = ", ".join(f"({quote_literal(str(m.file.path))}, {quote_literal(m.file.source)}, {quote_literal(m.fp.sha256)})" for m in self.members)
        return (
            f"SELECT {self.staged.select_sql}, f._source_file, f._file_hash, {loaded_at} FROM {self.staged.name} "
            f"JOIN (VALUES {files}) f(_path, _source_file, _file_hash) ON {self.path_column} = f._path"
        )


@dataclass
class IngestReport:
    loaded: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    duplicates: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    quarantined: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    deferred: list[dict[str, Any]] = field(default_factory=list)  # unreadable now: retried next run
    erased_ids_learned: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # new ids of erased customers

    def targets(self) -> set[str]:
        return set(self.loaded) | set(self.quarantined) | set(self.duplicates)


def _expected_rows(con: duckdb.DuckDBPyConnection, file: LandedFile, fp: Fingerprint, contract: Contract | None, staged: Staged) -> int:
    """Records in the file counted without the sniffer's dialect (reconciliation's other side)."""
    if file.path.suffix.lower() == ".parquet" or (contract and contract.format == "parquet"):
        return int(staged.detected.get("rows_in_footer", staged.rows))
    header = 1 if staged.detected.get("has_header", False) else 0
    comment = staged.detected.get("comment")
    if not fp.has_quote and fp.encoding != "utf-16" and not comment:
        return fp.records - header - int(staged.detected.get("skip_rows", 0) or 0)
    # Quoted fields may hold newlines (and UTF-16 has two-byte ones): count records with
    # Python's csv module, a parser independent of DuckDB's, on the decoded text.
    with file.path.open(encoding=fp.encoding or "utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter=staged.detected.get("delimiter") or ",",
                            quotechar=staged.detected.get("quote") or '"')
        records = sum(1 for record in reader if record and not (comment and record[0].lstrip().startswith(comment)))
    return records - header - int(staged.detected.get("skip_rows", 0) or 0)


def stage_file(con: duckdb.DuckDBPyConnection, file: LandedFile, fp: Fingerprint, contract: Contract | None, stage: str) -> Staged:
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
        return readers.stage_ndjson(con, file, stage, contract)
    if kind in ("csv", "tsv", "txt"):
        return readers.stage_csv(con, file, fp, stage, contract)  # uncontracted: types inferred as it reads
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
    # Catalog reads can meet "database is locked" while another process commits: retried.
    known = with_retry(lambda: ledger.known_stats(con), what="reading the ledger")
    seen = with_retry(lambda: ledger.loaded_hashes(con), what="reading the ledger")
    current = with_retry(lambda: ledger.current_versions(con), what="reading the ledger")
    # The GDPR job shares the warehouse pool with ingestion: no customer is erased during this run.
    filter_erased = with_retry(lambda: erasure_filter.anyone_erased(con), what="reading the erasures")
    # 1. Fingerprint every new file once; drop exact duplicates of anything already loaded.
    by_target: dict[str, list[tuple[LandedFile, Fingerprint]]] = defaultdict(list)
    for file in files:
        contract = contract_for(file.relative, contracts)
        target = contract.name if contract else UNCONTRACTED_KEY
        if wanted is not None and target not in wanted:
            continue
        if (file.source, file.size, file.mtime_ns) in known:
            continue  # unchanged since it was loaded: nothing to do, nothing to report
        try:
            fp = fingerprint(file.path)
        except OSError as error:
            report.deferred.append({"file": file.source, "error": str(error)})
            log(f"deferred {file.source}: {error}")
            continue
        if fp.sha256 in seen:
            report.duplicates[target].append({"file": file.source, "file_hash": fp.sha256})
            log(f"duplicate {file.source}: content already loaded, skipped")
            continue
        seen.add(fp.sha256)
        by_target[target].append((file, fp))
    # 2. Per table, in chunks that bound memory: stage (batch first), validate, commit. Tables that
    #    say whose an order or session is go first: an erased customer's new ids are then known
    #    before their lines, payments and events load.
    counter = iter(range(10**9))
    by_name = {c.name: c for c in contracts}
    for target, items in sorted(by_target.items(), key=lambda item: erasure_filter.load_rank(by_name.get(item[0]))):
        contract = by_name.get(target)
        for chunk in _chunks(items):
            units = _stage_chunk(con, chunk, target, contract, counter, quarantine_dir, run_id, report, log)
            if units:
                _commit(con, units, current, run_id, report, quarantine_dir, log, filter_erased)
    return report


def _chunks(items: list[tuple[LandedFile, Fingerprint]]) -> list[list[tuple[LandedFile, Fingerprint]]]:
    chunks: list[list[tuple[LandedFile, Fingerprint]]] = [[]]
    size = 0
    for item in items:
        if chunks[-1] and size + item[1].size > CHUNK_BYTES:
            chunks.append([])
            size = 0
        chunks[-1].append(item)
        size += item[1].size
    return chunks


def _stage_chunk(con, chunk, target, contract, counter, quarantine_dir, run_id, report, log) -> list[Pending]:
    table = contract.qualified_table if contract else None
    if batchable(contract, chunk):
        name = f"stage_{next(counter)}"
        staged = stage_batch(con, chunk, contract, name)
        if staged is not None:
            unit, counts = staged
            return [Pending(target, table, contract, unit, [Member(f, fp, counts[str(f.path)]) for f, fp in chunk], PATH_COLUMN)]
        con.execute(f"DROP TABLE IF EXISTS {name}")
        log(f"{target}: batch read of {len(chunk)} file(s) did not validate; reading them one by one")
    units = []
    for file, fp in chunk:
        file_table = table or f"{UNCONTRACTED_SCHEMA}.{quote_ident(dataset_name(file.relative))}"
        try:
            staged = stage_file(con, file, fp, contract, f"stage_{next(counter)}")
            expected = _expected_rows(con, file, fp, contract, staged)
            if expected != staged.rows:
                raise _count_mismatch(file, fp, staged, expected)
        except Rejected as rejected:
            record = quarantine_file(con, file, fp.sha256, file_table, rejected, quarantine_dir, run_id)
            report.quarantined[target].append(record)
            log(f"quarantined {file.source}: {rejected.code}: {rejected.message}")
            continue
        units.append(Pending(target, file_table, contract, staged, [Member(file, fp, expected)]))
    return units


def _count_mismatch(file: LandedFile, fp: Fingerprint, staged: Staged, expected: int) -> Rejected:
    """Rows read ≠ records counted: find the line that makes the dialect wrong, if one does."""
    d = staged.detected
    ragged = None
    if d.get("delimiter"):
        ragged = diagnose.ragged_line(file.path, fp.encoding or "utf-8", d["delimiter"], d.get("quote"),
                                      int(d.get("skip_rows") or 0), d.get("comment"))
    if ragged:
        return Rejected("ragged_rows", diagnose.ragged_text(ragged), line=ragged[0], rows_in_file=expected, rows_read=staged.rows)
    return Rejected(
        "row_count_mismatch",
        f"Python's CSV parser counts {expected} records but DuckDB read {staged.rows} rows with the detected dialect "
        f"({d.get('delimiter')!r} delimiter, {int(d.get('skip_rows') or 0)} line(s) skipped, header: {d.get('has_header')}): "
        "the dialect was misread, nothing is loaded.",
        rows_in_file=expected, rows_read=staged.rows,
    )


def _misfit(con: duckdb.DuckDBPyConnection, u: Pending) -> str | None:
    try:
        return diagnose.misfit_column(con, u.staged.name, u.table)
    except duckdb.Error:
        return None


def _replace_previous(c: duckdb.DuckDBPyConnection, m: Member, current, now: datetime) -> int:
    """A corrected re-delivery (same name, new content) replaces the version before. Returns
    the new version number."""
    previous = current.get(m.file.source)
    if not previous:
        return 1
    c.execute(f"DELETE FROM {previous[2]} WHERE _source_file = ?", [m.file.source])
    c.execute(
        "UPDATE meta.ingest_ledger SET status = 'superseded', superseded_at = ? WHERE source_file = ? AND status = 'loaded'",
        [now, m.file.source],
    )
    return previous[1] + 1


def _insert_uncontracted(c: duckdb.DuckDBPyConnection, p: Pending, source: str) -> None:
    schema_table = dataset_name(p.members[0].file.relative)
    exists = c.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = ? AND table_name = ?",
        [UNCONTRACTED_SCHEMA, schema_table],
    ).fetchone()[0]  # type: ignore[index]
    if not exists:
        c.execute(f"CREATE TABLE {p.table} AS {source} LIMIT 0")
    # DuckDB's names are case-insensitive: `city` in a later file is the table's column `City`.
    have = {r[0].lower() for r in c.execute(f"DESCRIBE {p.table}").fetchall()}
    for name, dtype, *_ in c.execute(f"DESCRIBE {p.staged.name}").fetchall():
        if name.lower() not in have:
            c.execute(f"ALTER TABLE {p.table} ADD COLUMN {quote_ident(name)} {dtype}")
    c.execute(f"INSERT INTO {p.table} BY NAME {source}")


def _commit(con, units: list[Pending], current, run_id: str, report: IngestReport, quarantine_dir: Path, log, filter_erased: bool) -> None:
    """One transaction per table (per file for uncontracted datasets, whose schemas may clash)."""
    now = datetime.now(UTC).replace(tzinfo=None)
    contracted = units[0].contract is not None
    for batch in ([units] if contracted else [[u] for u in units]):
        def body(c: duckdb.DuckDBPyConnection, batch: list[Pending] = batch) -> tuple[dict[str, int], erasure_filter.Filtered]:
            versions = {m.file.source: _replace_previous(c, m, current, now) for u in batch for m in u.members}
            filtered = erasure_filter.Filtered(" UNION ALL ".join(u.source_sql(now) for u in batch), {}, 0)
            if filter_erased:
                filtered = erasure_filter.keep_erased_out(c, filtered.source_sql, run_id, now)
            if contracted:
                c.execute(f"INSERT INTO {batch[0].table} {filtered.source_sql}")
            else:
                _insert_uncontracted(c, batch[0], filtered.source_sql)
            # One statement for all ledger rows (executemany costs ~5 ms per row here).
            left_out = filtered.suppressed
            c.execute("INSERT INTO meta.ingest_ledger VALUES " + ", ".join(
                f"({quote_literal(m.fp.sha256)}, {quote_literal(m.file.source)}, {quote_literal(u.table)}, {contracted}, 'loaded', "
                f"{versions[m.file.source]}, {m.rows}, {m.rows - left_out.get(m.fp.sha256, 0)}, 0, {m.fp.size}, {m.file.mtime_ns}, "
                f"{quote_literal(readers.describe(u.staged.detected))}, {quote_literal(run_id)}, {quote_literal(now.isoformat(sep=' '))}::TIMESTAMP, NULL, "
                f"{left_out.get(m.fp.sha256, 0)})"
                for u in batch for m in u.members
            ))
            return versions, filtered

        try:
            versions, filtered = transaction(con, body)
        except (duckdb.BinderException, duckdb.ConversionException, duckdb.CatalogException) as error:
            # Only a schema clash with the dataset's existing table is the file's fault; any
            # other error (disk full, permissions, a lost race) propagates and the file stays
            # in landing for the next run, exactly like a contracted file.
            if contracted:
                raise
            u = batch[0]
            m = u.members[0]
            why = _misfit(con, u) or diagnose.error_text(error)
            rejected = Rejected("incompatible_schema", f"Does not fit the dataset's existing table {u.table}: {why}")
            report.quarantined[u.target].append(quarantine_file(con, m.file, m.fp.sha256, u.table, rejected, quarantine_dir, run_id))
            continue
        for u in batch:
            for m in u.members:
                current[m.file.source] = (m.fp.sha256, versions[m.file.source], u.table)
                suppressed = filtered.suppressed.get(m.fp.sha256, 0)
                report.loaded[u.target].append(
                    {"file": m.file.source, "file_hash": m.fp.sha256, "rows": m.rows - suppressed, "suppressed": suppressed,
                     "version": versions[m.file.source], "table": u.table, "detected": u.staged.detected}
                )
            con.execute(f"DROP TABLE IF EXISTS {u.staged.name}")
        report.erased_ids_learned[batch[0].target] += filtered.ids_learned
        loaded = sum(m.rows for u in batch for m in u.members) - sum(filtered.suppressed.values())
        erased = f" ({sum(filtered.suppressed.values()):,} rows about erased customers left out)" if filtered.suppressed else ""
        log(f"committed {sum(len(u.members) for u in batch)} file(s), {loaded:,} rows into {batch[0].table}{erased}")
