"""Read one landed file into a session-local staging table, or say precisely why not.

Contracted files are staged as text and cast in a separate, counted step, so a bad value is
reported with its column and an example instead of failing half-way through an insert. CSV
dialects come from DuckDB's sniffer; the read itself is explicit and strict, because the
sniffer alone can misread ragged files (one column, or silently dropped rows).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import duckdb

from analytics_platform.defs.ingestion import diagnose
from analytics_platform.defs.ingestion.contracts import Column, Contract
from analytics_platform.defs.ingestion.files import Fingerprint, LandedFile
from analytics_platform.warehouse import quote_ident, quote_literal

DUCKDB_ENCODINGS = {"utf-8": "utf-8", "utf-16": "utf-16", "latin-1": "latin-1", "cp1252": "CP1252"}
DELIMITERS = (",", ";", "\t", "|")


class Rejected(Exception):
    """The file breaks its contract; it goes to quarantine with this reason."""

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code, self.message, self.details = code, message, details


@dataclass
class Staged:
    """A file read into the temp table ``name``, validated, waiting for its commit."""

    name: str
    rows: int
    columns: list[str]
    detected: dict[str, Any] = field(default_factory=dict)  # dialect, encoding, schema drift
    select_sql: str = "*"  # how to turn the staged text into typed contract columns


def clean_names(names: list[str]) -> list[str]:
    """Column names as the platform loads them, deterministically: whitespace (non-breaking spaces
    too) trimmed and collapsed to one space, an empty name ``column<i>``, and a name that repeats
    an earlier one up to case (DuckDB's names are case-insensitive: ``a`` beside ``A``) suffixed
    ``_1``, ``_2``… as DuckDB's own CSV reader does."""
    seen: set[str] = set()
    out = []
    for i, raw in enumerate(names):
        name = re.sub(r"\s+", " ", str(raw)).strip() or f"column{i}"
        candidate, n = name, 0
        while candidate.lower() in seen:
            n += 1
            candidate = f"{name}_{n}"
        seen.add(candidate.lower())
        out.append(candidate)
    return out


def rename_columns(con: duckdb.DuckDBPyConnection, stage: str, mapping: dict[str, str]) -> None:
    """Rename columns of the temp table ``stage`` (two steps, so swaps and case changes work)."""
    mapping = {old: new for old, new in mapping.items() if old != new}
    for i, old in enumerate(mapping):
        con.execute(f"ALTER TABLE {stage} RENAME COLUMN {quote_ident(old)} TO {quote_ident(f'__rename_{i}')}")
    for i, new in enumerate(mapping.values()):
        con.execute(f"ALTER TABLE {stage} RENAME COLUMN {quote_ident(f'__rename_{i}')} TO {quote_ident(new)}")


def _clean_staged(con: duckdb.DuckDBPyConnection, stage: str) -> list[str]:
    """Give the staged table clean column names (``clean_names``); returns them."""
    names = [r[0] for r in con.execute(f"DESCRIBE {stage}").fetchall()]
    clean = clean_names(names)
    rename_columns(con, stage, dict(zip(names, clean, strict=True)))
    return clean


def sniff_csv_dialect(con: duckdb.DuckDBPyConnection, file: LandedFile, encoding: str, comment: str | None = None) -> dict[str, Any]:
    """The dialect DuckDB's sniffer detects in ``file`` (delimiter, quote, header, columns, and
    the comment character: lines starting with `#` are read as comments, not as rows)."""
    option = f", comment={quote_literal(comment)}" if comment else ""
    row = con.execute(
        "SELECT Delimiter, Quote, Escape, NewLineDelimiter, SkipRows, HasHeader, Columns, Comment "
        f"FROM sniff_csv({quote_literal(str(file.path))}, encoding={quote_literal(encoding)}, sample_size=20480{option})"
    ).fetchone()
    assert row is not None
    delimiter, quote, escape, newline, skip, header, columns, found = row
    found = None if found in ("(empty)", "", None) else found
    if found and not comment:  # with the comment known, the sniffer also finds the header below comment lines
        return sniff_csv_dialect(con, file, encoding, found)
    return {
        "comment": found,
        "delimiter": delimiter,
        "quote": None if quote == "(empty)" else quote,
        "escape": None if escape == "(empty)" else escape,
        "newline": newline,
        "skip_rows": skip,
        "has_header": header,
        "columns": [c["name"] for c in columns],
        "encoding": encoding,
        "dialect_source": "duckdb sniffer",
    }


def _header_split(file: LandedFile, encoding: str, expected: list[str]) -> tuple[str, list[str]] | None:
    """(delimiter, names) when one of the usual delimiters splits the first line into the
    expected column names (all of them for a contract; at least two for an unknown dataset)."""
    with file.path.open(encoding=encoding, errors="replace", newline="") as handle:
        header = handle.readline().lstrip("\ufeff").rstrip("\r\n")
    for delimiter in sorted(DELIMITERS, key=header.count, reverse=True):
        names = clean_names([n.strip().strip('"') for n in header.split(delimiter)])
        if len(names) > 1 and ({e.lower() for e in expected} <= {n.lower() for n in names} if expected else True):
            return delimiter, names
    return None


def read_csv_text(con: duckdb.DuckDBPyConnection, file: LandedFile | str, stage: str, dialect: dict[str, Any], path_column: str | None = None,
                  typed: bool = False) -> None:
    """Strict, explicit read of ``file`` (or a SQL list of paths) as text columns; ``typed`` (uncontracted
    files): the same strict read with the dialect given, column types inferred by DuckDB from every row
    (one pass less than reading text and re-reading typed: a third of a 100 MB file's load)."""
    if typed:
        columns = f"names=[{', '.join(quote_literal(c) for c in dialect['columns'])}], sample_size=-1"
    else:
        columns = "columns={" + ", ".join(f"{quote_literal(c)}: 'VARCHAR'" for c in dialect["columns"]) + "}, auto_detect=false"
    options = [
        f"delim={quote_literal(dialect['delimiter'])}",
        f"quote={quote_literal(dialect['quote'] or '')}",
        f"escape={quote_literal(dialect['escape'] or '')}",
        f"header={'true' if dialect['has_header'] else 'false'}",
        f"skip={int(dialect['skip_rows'])}",
        f"encoding={quote_literal(dialect['encoding'])}",
        columns,
        "strict_mode=true, null_padding=false, parallel=true",
    ]
    if dialect.get("comment"):
        options.append(f"comment={quote_literal(dialect['comment'])}")
    if path_column:
        options.append(f"filename={quote_literal(path_column)}")
    source = file if isinstance(file, str) else quote_literal(str(file.path))
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {stage} AS SELECT * FROM read_csv({source}, {', '.join(options)})"
        )
    except duckdb.Error as error:
        if typed:  # the type sniffer's error hides the cause (a ragged line, an encoding): the strict text read names it
            read_csv_text(con, file, stage, dialect, path_column)
            raise Rejected("malformed_csv", f"DuckDB reads the file as text but cannot infer its column types: {diagnose.error_text(error)}") from None
        raise _read_error(error, file, dialect) from None


def _read_error(error: duckdb.Error, file: LandedFile | str, dialect: dict[str, Any]) -> Rejected:
    """The strict read failed: name the line and the cause (a ragged line, an encoding)."""
    text = str(error)
    line = re.search(r"CSV Error on Line: (\d+)", text)
    found = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", text)
    original = re.search(r"Original Line: (.*)", text)
    where = f"line {line.group(1)}" if line else "a line"
    if found:
        shown = f": {original.group(1).strip()[:120]!r}" if original else ""
        message = (f"{where} has {found.group(2)} field(s) where the header has {found.group(1)}{shown}. "
                   "Every line needs as many fields as the header")
        return Rejected("ragged_rows", message, line=int(line.group(1)) if line else None, duckdb_error=text[:2000])
    if "Invalid unicode" in text or "encoding" in text.lower():
        if not isinstance(file, str):
            return Rejected("undecodable", diagnose.not_utf8(file.path), duckdb_error=text[:2000])
    return Rejected("malformed_csv", f"DuckDB could not read {where} strictly with the detected dialect: {diagnose.error_text(error)}",
                    duckdb_error=text[:2000])


def stage_csv(con: duckdb.DuckDBPyConnection, file: LandedFile, fp: Fingerprint, stage: str, contract: Contract | None) -> Staged:
    encoding = DUCKDB_ENCODINGS[fp.encoding or "utf-8"]
    if encoding not in ("utf-8", "utf-16", "latin-1"):  # DuckDB reads only these natively
        con.execute("LOAD encodings")
    try:
        dialect = sniff_csv_dialect(con, file, encoding)
    except duckdb.Error as error:
        if fp.encoding != "utf-8":  # a legacy guess (cp1252, latin-1) that does not fit: say so
            raise Rejected("undecodable", diagnose.not_utf8(file.path), tried=encoding, duckdb_error=str(error)[:2000]) from None
        raise Rejected("malformed_csv", f"DuckDB's CSV sniffer failed: {diagnose.error_text(error)}") from None
    if dialect["skip_rows"] and not dialect["has_header"] and len(dialect["columns"]) > 1:
        # The sniffer skipped the first line(s) and named the columns column0…: a header with
        # fewer or more fields than the rows below it, not a title line. Loading would drop it.
        ragged = diagnose.ragged_line(file.path, fp.encoding or "utf-8", dialect["delimiter"], dialect["quote"], 0, dialect["comment"])
        if ragged:
            raise Rejected("ragged_rows", diagnose.ragged_text(ragged), line=ragged[0])
    required = contract.required_headers if contract else []
    dialect["columns"] = clean_names(dialect["columns"])
    sniffed_ok = {r.lower() for r in required} <= {c.lower() for c in dialect["columns"]} and (contract or len(dialect["columns"]) > 1)
    if not sniffed_ok:
        # The sniffer's guess does not fit: typically rows with more or fewer fields than the
        # header make it fall back to one column, or to "no header". If the header line splits
        # into the expected names, read strictly with it: that loads a good file correctly or
        # names the ragged line.
        split = _header_split(file, fp.encoding or "utf-8", required)
        if split:
            dialect.update(delimiter=split[0], columns=clean_names(split[1]), has_header=True, skip_rows=0,
                           dialect_source="header line (the sniffer's guess did not match it)")
        elif contract and len(dialect["columns"]) == 1:
            raise Rejected(
                "wrong_delimiter",
                f"The file reads as a single column {dialect['columns'][0]!r}; none of {list(DELIMITERS)} "
                "splits its header into the contract's columns.",
                detected_columns=dialect["columns"],
            )
    read_csv_text(con, file, stage, dialect, typed=contract is None)
    return validate_staged(con, stage, dialect, contract, textual=True)


def stage_parquet(con: duckdb.DuckDBPyConnection, file: LandedFile, stage: str, contract: Contract | None) -> Staged:
    path = quote_literal(str(file.path))
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {stage} AS SELECT * FROM read_parquet({path})")
        declared_rows = con.execute(f"SELECT sum(num_rows)::BIGINT FROM parquet_file_metadata({path})").fetchone()
    except duckdb.Error as error:
        raise Rejected("malformed_parquet", f"Not a readable Parquet file: {diagnose.error_text(error)}") from None
    columns = _clean_staged(con, stage)
    staged = validate_staged(con, stage, {"format": "parquet", "columns": columns}, contract, textual=False)
    staged.detected["rows_in_footer"] = int(declared_rows[0] or 0) if declared_rows else 0
    return staged


def stage_ndjson(con: duckdb.DuckDBPyConnection, source: LandedFile | str, stage: str, contract: Contract | None, path_column: str | None = None) -> Staged:
    """NDJSON → one text column per key (contracted) or inferred types (uncontracted).
    ``source`` is one file or a SQL list of paths (then ``path_column`` says which file)."""
    path = source if isinstance(source, str) else quote_literal(str(source.path))
    with_path = f", filename={quote_literal(path_column)}" if path_column else ""
    keep = f", {path_column}" if path_column else ""
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {stage}_objects AS SELECT json{keep} FROM read_ndjson_objects({path}{with_path})")
        bad = con.execute(f"SELECT count(*) FROM {stage}_objects WHERE json_type(json) <> 'OBJECT'").fetchone()
    except duckdb.Error as error:
        raise Rejected("malformed_json", f"A line is not valid JSON: {diagnose.error_text(error)}") from None
    if bad and bad[0]:
        raise Rejected("malformed_json", f"{bad[0]} line(s) are JSON but not objects")
    if contract is None:
        # Let DuckDB infer types for datasets nobody has described yet.
        try:
            con.execute(f"CREATE OR REPLACE TEMP TABLE {stage} AS SELECT * FROM read_json({path}, format='newline_delimited')")
        except duckdb.Error as error:
            raise Rejected("malformed_json", f"DuckDB could not infer a table: {diagnose.error_text(error)}") from None
        columns = _clean_staged(con, stage)
        return validate_staged(con, stage, {"format": "ndjson", "columns": columns}, None, textual=False)
    keys = [
        r[0]
        for r in con.execute(
            f"SELECT k FROM (SELECT unnest(json_keys(json)) AS k, rowid AS r FROM {stage}_objects) GROUP BY k ORDER BY min(r)"
        ).fetchall()
    ]
    names = clean_names(keys)
    extract = ", ".join(f"json ->> {quote_literal(k)} AS {quote_ident(n)}" for k, n in zip(keys, names, strict=True)) or "NULL AS _empty"
    con.execute(f"CREATE OR REPLACE TEMP TABLE {stage} AS SELECT {extract}{keep} FROM {stage}_objects")
    con.execute(f"DROP TABLE {stage}_objects")
    return validate_staged(con, stage, {"format": "ndjson", "columns": names}, contract, textual=True)


def validate_staged(con: duckdb.DuckDBPyConnection, stage: str, detected: dict[str, Any], contract: Contract | None, textual: bool,
                    exclude: tuple[str, ...] = ()) -> Staged:
    """Check the staged rows against ``contract`` (required columns present, values cast to the
    declared types, no empty required values): raises ``Rejected``, else returns the ``Staged``
    table with the SQL that casts it to the contract's columns."""
    rows = con.execute(f"SELECT count(*) FROM {stage}").fetchone()[0]  # type: ignore[index]
    columns: list[str] = [c for c in detected["columns"] if c not in exclude]
    by_header = {c.header.lower(): c.name for c in contract.columns} if contract else {}
    if renames := {c: by_header[c.lower()] for c in columns if by_header.get(c.lower(), c) != c}:
        rename_columns(con, stage, renames)  # file headers → the contract's column names
        columns = [renames.get(c, c) for c in columns]
        detected["renamed"] = renames
    staged = Staged(stage, rows, columns, detected)
    if contract is None:  # an uncontracted file keeps the types its reader inferred
        return staged
    missing = [c for c in contract.required_columns if c not in columns]
    if missing:
        raise Rejected("missing_required_column", f"Required column(s) {missing} are missing; the file has {columns}.", missing=missing, found=columns)
    extra = [c for c in columns if c not in contract.column_names]
    detected["extra_columns"] = extra
    present = [c for c in contract.columns if c.name in columns]
    if rows:
        probes = ", ".join(
            f"count(*) FILTER (WHERE {_bad_value(c)}), "
            f"any_value({quote_ident(c.name)}::VARCHAR) FILTER (WHERE {_bad_value(c)}), "
            f"count(*) FILTER (WHERE {quote_ident(c.name)} IS NULL)"
            for c in present
        )
        result = con.execute(f"SELECT {probes} FROM {stage}").fetchone()
        assert result is not None
        bad_casts, nulls = {}, {}
        for i, column in enumerate(present):
            failed, example, null_count = result[3 * i : 3 * i + 3]
            if failed:
                bad_casts[column.name] = {"rows": failed, "type": column.type, "example": example}
            if column.required and null_count:
                nulls[column.name] = null_count
        if bad_casts:
            text = "; ".join(f"{k}: {v['rows']} value(s) not {v['type']}, e.g. {v['example']!r}" for k, v in bad_casts.items())
            raise Rejected("type_cast_failed", f"Values do not cast to the declared types: {text}", columns=bad_casts)
        if nulls:
            raise Rejected("required_null", f"Required column(s) have empty values: {nulls}", columns=nulls)
    staged.select_sql = ", ".join(
        (f"TRY_CAST({quote_ident(c.name)} AS {c.type})" if c.name in columns else f"NULL::{c.type}") + f" AS {quote_ident(c.name)}"
        for c in contract.columns
    )
    return staged


NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "DECIMAL", "NUMERIC")


def _bad_value(column: Column) -> str:
    """SQL: the value is present but does not cast to the declared type, or (numbers) casts only
    by rounding — DuckDB turns '41.5' into BIGINT 42 and 10.555 into DECIMAL(12,2) 10.56."""
    name = quote_ident(column.name)
    bad = f"({name} IS NOT NULL AND TRY_CAST({name} AS {column.type}) IS NULL)"
    if column.type.startswith(NUMERIC):
        bad += (f" OR (TRY_CAST({name} AS {column.type}) IS NOT NULL AND TRY_CAST({name} AS DOUBLE) IS NOT NULL"
                f" AND TRY_CAST({name} AS {column.type})::DOUBLE <> TRY_CAST({name} AS DOUBLE))")
    return bad


def describe(detected: dict[str, Any]) -> str:
    return json.dumps(detected, default=str, sort_keys=True)
