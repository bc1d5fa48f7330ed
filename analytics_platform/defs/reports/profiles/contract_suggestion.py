"""A source contract suggested from a profile, checked with the ingestion's own reader.

The suggestion uses the format of ``defs/ingestion/contracts/*.yaml``: DuckDB's inferred types,
``required`` where the data has no empty value, a unique never-empty column (or pair) as primary
key and the main time column as incremental key. It is then *dry-run*: the landed files are
staged exactly as the loader would stage them under this contract (``loader.stage_file``, temp
tables only). A column whose text does not cast to its inferred type (DuckDB's sniffer accepts
date formats a plain cast does not) falls back to VARCHAR, and a required column that is empty
in a file becomes optional, until every checked file passes. Column names that are not identifiers
(``First Name``, ``lifeExp``, ``a_1`` beside ``A``) get a snake_case name and keep their header as
``source``. Problems that need a person are listed in the YAML's header and the asset's metadata.
"""

from __future__ import annotations

import dataclasses
import glob
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import yaml

from analytics_platform.defs.ingestion import readers
from analytics_platform.defs.ingestion.contracts import (
    CONTRACTS_DIR,
    FORMATS,
    Column,
    Contract,
    ContractError,
    check_identifier,
    load_contracts,
)
from analytics_platform.defs.ingestion.files import LandedFile, fingerprint
from analytics_platform.defs.ingestion.loader import stage_file as stage_landed_file
from analytics_platform.defs.reports.profiles.formatting import num, pct, whole

FORMAT_BY_SUFFIX = {"csv": "csv", "tsv": "csv", "txt": "csv", "parquet": "parquet", "ndjson": "ndjson", "jsonl": "ndjson", "json": "ndjson"}
MAX_FILES_CHECKED = 3
MAX_ROUNDS = 6


@dataclass
class Suggestion:
    contract: Contract
    yaml_text: str = ""
    problems: list[str] = field(default_factory=list)  # reasons it cannot be adopted as-is
    adjustments: list[str] = field(default_factory=list)  # what the dry run changed
    checked_files: list[str] = field(default_factory=list)

    @property
    def adoptable(self) -> bool:
        return not self.problems

    @property
    def file_name(self) -> str:
        return f"{self.contract.name}.yaml"


def _safe_identifier(text: str, prefix: str) -> str:
    text = text.strip("_") or prefix
    return text if text[0].isalpha() else f"{prefix}_{text}"


def identifier(name: str) -> str:
    """A contract column name for a header: ``lifeExp`` → ``life_exp``, ``Adj. Close`` → ``adj_close``."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text))
    return _safe_identifier(re.sub(r"[^a-z0-9]+", "_", text.lower()), "c")[:63]


def identifiers(names: list[str]) -> dict[str, str]:
    """Header → a distinct contract column name (a clash gets ``_2``, ``_3``…)."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for name in names:
        base = candidate = identifier(name)
        n = 1
        while candidate in taken:
            n += 1
            candidate = f"{base[:60]}_{n}"
        taken.add(candidate)
        out[name] = candidate
    return out


def source_and_table(dataset: str, files: list[str]) -> tuple[str, str]:
    """From the landing folder, like the existing contracts: ``shop/returns/*.csv`` → (shop, returns);
    a single folder ``tips/`` → (tips, tips); otherwise the dataset name for both."""
    folders = {Path(f).parent.parts for f in files}
    parts = [re.sub(r"[^a-z0-9]+", "_", p.lower()).strip("_") for p in (folders.pop() if len(folders) == 1 else ())]
    parts = [p for p in parts if p] or [dataset]
    source = _safe_identifier(parts[0], "src")
    table = _safe_identifier("_".join(parts[1:]) if len(parts) > 1 else source, "t")
    return source[:63], table[:63]


def file_pattern(files: list[str]) -> tuple[str, str]:
    """(glob, format) covering the dataset's landed files."""
    suffixes = sorted({Path(f).suffix.lower().lstrip(".") for f in files}) or ["csv"]
    fmt = FORMAT_BY_SUFFIX.get(suffixes[0], "csv")
    folders = {Path(f).parent.as_posix() for f in files}
    if len(folders) == 1 and (folder := folders.pop()) not in ("", "."):
        # The series' common name (dates and numbers off), so other series of the folder stay out.
        prefix = re.sub(r"[\d_\-. ]+$", "", os.path.commonprefix([Path(f).stem for f in files]).split("*")[0])
        name = f"{glob.escape(prefix)}*"
        return (f"{folder}/{name}.{suffixes[0]}" if len(suffixes) == 1 else f"{folder}/{name}"), fmt
    if len(files) == 1:
        return files[0], fmt
    return f"{Path(files[0]).stem}.*", fmt


def _describe(col: dict[str, Any], rows: int) -> str:
    kind, info = col["kind"], col.get("time")
    parts = [kind]
    if info and info["source"] != "typed":
        parts.append(f"dates stored as {'text' if info['source'] == 'text' else 'numbers'} ({info['format']})")
    if info and info.get("min"):
        width = 4 if info["source"] == "year" else 10
        parts.append(f"{str(info['min'])[:width]} to {str(info['max'])[:width]}")
    elif col.get("top_values") and kind in ("category", "code", "boolean"):
        values = [str(t["value"]) for t in col["top_values"][:5]]
        parts.append(f"{col['distinct']} values, e.g. {', '.join(values)}")
    elif col.get("median") is not None:
        show = whole if col["family"] == "integer" else num
        parts.append(f"{show(col['min'])} to {show(col['max'])}, median {num(col['median'])}")
    empty = 1 - (col["count"] or 0) / rows if rows else 0
    if empty:
        parts.append(f"{pct(empty)} empty when profiled")
    return "; ".join(parts)


def _contract_type(col: dict[str, Any], fmt: str) -> str:
    if col["family"] == "other" and fmt == "ndjson":
        return "VARCHAR"  # nested JSON is staged as its text under a contract
    if col["kind"] == "empty":
        return "VARCHAR"
    return col["type"]


def draft(profile: dict[str, Any]) -> Suggestion:
    """The contract the profile implies (before the dry run)."""
    rows = profile["profiled_rows"]
    files = profile.get("source_files") or [f"{profile['dataset']}/*.csv"]
    pattern, fmt = file_pattern(files)
    source, table = source_and_table(profile["dataset"], files)
    names = identifiers([c["name"] for c in profile["columns"]])
    columns = tuple(
        Column(
            name=names[c["name"]],
            source="" if names[c["name"]] == c["name"] else c["name"],
            type=_contract_type(c, fmt),
            required=bool(rows) and (c.get("count_full") == profile["rows"] if profile.get("sampled") else c["count"] == rows),
            description=_describe(c, rows),
        )
        for c in profile["columns"]
    )
    time_col = profile.get("main_time")
    contract = Contract(
        source=source, table=table,
        description=f"{profile['rows']:,} rows × {len(columns)} columns when profiled ({profile['profiled_at'][:10]}); "
        f"suggested from the uncontracted dataset {profile['dataset']}.",
        file_pattern=pattern, format=fmt if fmt in FORMATS else "csv",
        primary_key=tuple(names[k] for k in profile.get("primary_key") or ()),
        columns=columns,
        incremental_key=names[time_col] if time_col else None,
    )
    return Suggestion(contract)


def _stage(con: duckdb.DuckDBPyConnection, landed: LandedFile, contract: Contract, stage: str) -> None:
    # The loader's own per-file dispatcher (format → reader → contract checks), so the dry run
    # follows the ingestion code as it evolves; it creates temp tables only.
    stage_landed_file(con, landed, fingerprint(landed.path), contract, stage)


def dry_run(con: duckdb.DuckDBPyConnection, suggestion: Suggestion, landing_dir: Path, files: list[str]) -> Suggestion:
    """Stage up to ``MAX_FILES_CHECKED`` landed files under the contract, fixing what fails."""
    present = [f for f in files if (landing_dir / f).is_file()][-MAX_FILES_CHECKED:]
    for index, relative in enumerate(present):
        path = landing_dir / relative
        stat = path.stat()
        landed = LandedFile(path, relative, stat.st_size, stat.st_mtime_ns)
        for _ in range(MAX_ROUNDS):
            c = suggestion.contract
            try:
                _stage(con, landed, c, f"contract_check_{index}")
                break
            except readers.Rejected as rejected:
                bad = rejected.details.get("columns") or {}
                if rejected.code == "type_cast_failed" and bad:
                    cols = tuple(dataclasses.replace(col, type="VARCHAR") if col.name in bad else col for col in c.columns)
                    for name, info in bad.items():
                        suggestion.adjustments.append(
                            f"{name}: {info['type']} → VARCHAR ({relative}: {info['rows']} value(s) like {info['example']!r} do not cast)"
                        )
                elif rejected.code == "required_null" and bad:
                    cols = tuple(dataclasses.replace(col, required=False) if col.name in bad else col for col in c.columns)
                    suggestion.adjustments.extend(f"{name}: not required ({relative} has {n} empty value(s))" for name, n in bad.items())
                else:
                    suggestion.problems.append(f"{relative} would be quarantined: {rejected.code}: {rejected.message}")
                    break
                suggestion.contract = dataclasses.replace(c, columns=cols)
            finally:
                con.execute(f"DROP TABLE IF EXISTS contract_check_{index}")
                con.execute(f"DROP TABLE IF EXISTS contract_check_{index}_objects")
        suggestion.checked_files.append(relative)
    return suggestion


def validate(suggestion: Suggestion, existing: tuple[Contract, ...] | None = None) -> None:
    """Problems the contract parser or the repo would raise; parses the YAML with the real loader."""
    c = suggestion.contract
    for name in [c.source, c.table]:
        try:
            check_identifier(name, "name")
        except ContractError as error:
            suggestion.problems.append(str(error))
    odd = [col.name for col in c.columns if not _is_identifier(col.name)]
    if odd:
        suggestion.problems.append(f"column names {odd} are not identifiers ([a-z][a-z0-9_]*, at most 63 characters)")
    existing = load_contracts() if existing is None else existing
    if any(e.name == c.name for e in existing):
        suggestion.problems.append(f"a contract named {c.name} already exists in {CONTRACTS_DIR}")
    if not c.primary_key and not c.incremental_key:
        suggestion.problems.append(
            "no column (or pair) is unique and never empty, and there is no time column: choose a primary_key by hand "
            "(the primary_key_unique check needs at least one key column)"
        )
    if suggestion.problems:
        return
    with tempfile.TemporaryDirectory() as folder:  # parse it exactly as the platform will
        path = Path(folder) / suggestion.file_name
        path.write_text(suggestion.yaml_text)
        try:  # __wrapped__: the uncached function, so a temp folder is not kept in the cache
            parsed = load_contracts.__wrapped__(Path(folder))
        except (ContractError, yaml.YAMLError, KeyError, TypeError) as error:
            suggestion.problems.append(f"the contract parser rejects it: {error}")
            return
    if not parsed or parsed[0].columns != c.columns:
        suggestion.problems.append("the YAML does not round-trip to the same columns")


def _is_identifier(name: str) -> bool:
    try:
        check_identifier(name, "column")
        return True
    except ContractError:
        return False


def render(suggestion: Suggestion, profile: dict[str, Any]) -> str:
    c = suggestion.contract

    def flow(value: Any) -> str:
        return yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=10**6, allow_unicode=True).strip()

    def scalar(value: Any) -> str:
        return flow(value).removesuffix("\n...").strip()

    header = [
        f"# Suggested source contract for the uncontracted dataset `{profile['dataset']}` ({profile['table']}),",
        f"# generated by the dataset profiler from {profile['profiled_rows']:,} rows on {profile['profiled_at'][:10]}.",
    ]
    if suggestion.checked_files:
        header.append(f"# Dry run: {len(suggestion.checked_files)} landed file(s) staged under it with the ingestion reader"
                      + (" and would load without quarantine." if not any("quarantined" in p for p in suggestion.problems) else "."))
    header += [f"#   adjusted: {a}" for a in suggestion.adjustments]
    if suggestion.problems:
        header.append("# NOT adoptable as-is:")
        header += [f"#   - {p}" for p in suggestion.problems]
    else:
        header.append(f"# To adopt: review, then copy to analytics_platform/defs/ingestion/contracts/{suggestion.file_name}")
        header.append(f"# (new files then load into lake.raw.{c.name}; rows already loaded stay in {profile['table']}).")
    body = [
        f"source: {scalar(c.source)}",
        f"table: {scalar(c.table)}",
        f"description: {scalar(c.description)}",
        f"file_pattern: {scalar(c.file_pattern)}",
        f"format: {scalar(c.format)}",
        f"primary_key: {flow(list(c.primary_key))}",
    ]
    if c.incremental_key:
        body.append(f"incremental_key: {scalar(c.incremental_key)}")
    body.append("columns:")
    for col in c.columns:
        entry: dict[str, Any] = {"name": col.name, **({"source": col.source} if col.source else {}), "type": col.type}
        if col.required:
            entry["required"] = True
        entry["description"] = col.description
        body.append(f"  - {flow(entry)}")
    return "\n".join(header + body) + "\n"


def suggest(
    profile: dict[str, Any],
    con: duckdb.DuckDBPyConnection | None = None,
    landing_dir: Path | None = None,
    existing: tuple[Contract, ...] | None = None,
) -> Suggestion:
    suggestion = draft(profile)
    if con is not None and landing_dir is not None:
        dry_run(con, suggestion, landing_dir, list(profile.get("source_files") or []))
    suggestion.yaml_text = render(suggestion, profile)
    validate(suggestion, existing)
    suggestion.yaml_text = render(suggestion, profile)  # with the problems, if any, in its header
    return suggestion
