"""Source contracts: one YAML file per source table in ``contracts/``.

Adding a source means adding a YAML file; the raw asset, its checks and the dbt source it feeds
are derived from it. Names from the YAML become SQL identifiers, so they are validated here.
A column whose header in the file is not such a name (``First Name``, ``lifeExp``, ``a`` beside
``A``) says so with ``source``: ``{name: first_name, source: "First Name", type: VARCHAR}``. The
header is matched as the reader reports it (``readers.clean_names``: whitespace trimmed, a repeat
that differs only in case suffixed ``_1``, ``_2``…, as in the uncontracted table), ignoring case
as DuckDB does.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import yaml

from analytics_platform.warehouse import quote_ident

CONTRACTS_DIR = Path(__file__).parent / "contracts"
IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
FORMATS = ("csv", "parquet", "ndjson")
RAW_SCHEMA = "raw"
UNCONTRACTED_SCHEMA = "uncontracted"


class ContractError(ValueError):
    """A contract YAML is itself invalid (a bug in the repo, not in a landed file)."""


def check_identifier(name: str, what: str) -> str:
    if not IDENTIFIER.match(name):
        raise ContractError(f"{what} {name!r} is not a safe identifier ([a-z][a-z0-9_]*)")
    return name


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    required: bool = False
    pii: bool = False
    description: str = ""
    source: str = ""  # the header in the file, when it is not ``name``

    @property
    def header(self) -> str:
        return self.source or self.name


@dataclass(frozen=True)
class Contract:
    source: str
    table: str
    description: str
    file_pattern: str
    format: str
    primary_key: tuple[str, ...]
    columns: tuple[Column, ...]
    incremental_key: str | None = None
    path: Path = field(default=Path(), compare=False)

    @property
    def name(self) -> str:
        """``<source>__<table>``: the raw table's name and the last part of its asset key."""
        return f"{self.source}__{self.table}"

    @property
    def qualified_table(self) -> str:
        return f"{RAW_SCHEMA}.{quote_ident(self.name)}"

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    @property
    def required_headers(self) -> list[str]:
        """The required columns as the file's header names them."""
        return [c.header for c in self.columns if c.required]

    @property
    def renames(self) -> dict[str, str]:
        """File header → column name, for the columns declared with a ``source``."""
        return {c.source: c.name for c in self.columns if c.source and c.source != c.name}

    def matches(self, relative_path: str) -> bool:
        """Glob match where `*` stays within one folder (`shop/orders/*.parquet` does not
        match `shop/orders/2026/x.parquet`)."""
        path, pattern = PurePosixPath(relative_path), PurePosixPath(self.file_pattern)
        return len(path.parts) == len(pattern.parts) and all(
            fnmatch.fnmatchcase(part, glob) for part, glob in zip(path.parts, pattern.parts, strict=False)
        )


def _parse(path: Path) -> Contract:
    raw = yaml.safe_load(path.read_text())
    try:
        columns = tuple(
            Column(
                name=check_identifier(c["name"], "column"),
                type=str(c["type"]).upper(),
                required=bool(c.get("required", False)),
                pii=bool(c.get("pii", False)),
                description=c.get("description", ""),
                source=str(c.get("source") or ""),
            )
            for c in raw["columns"]
        )
        contract = Contract(
            source=check_identifier(raw["source"], "source"),
            table=check_identifier(raw["table"], "table"),
            description=raw.get("description", ""),
            file_pattern=raw["file_pattern"],
            format=raw["format"],
            primary_key=tuple(raw["primary_key"]),
            columns=columns,
            incremental_key=raw.get("incremental_key"),
            path=path,
        )
    except KeyError as missing:
        raise ContractError(f"{path.name}: missing key {missing}") from None
    names = set(contract.column_names)
    headers = [c.header.lower() for c in contract.columns]
    if len(names) != len(contract.columns) or len(set(headers)) != len(headers):
        raise ContractError(f"{path.name}: column names and source headers must each be unique")
    if contract.format not in FORMATS:
        raise ContractError(f"{path.name}: format must be one of {FORMATS}")
    unknown = [k for k in (*contract.primary_key, contract.incremental_key) if k and k not in names]
    if unknown:
        raise ContractError(f"{path.name}: keys {unknown} are not declared columns")
    if path.stem != contract.name:
        raise ContractError(f"{path.name}: file must be named {contract.name}.yaml")
    return contract


@functools.cache
def load_contracts(directory: Path = CONTRACTS_DIR) -> tuple[Contract, ...]:
    """All contracts, sorted by name. Cached: they are part of the code, not of the data."""
    return tuple(sorted((_parse(p) for p in directory.glob("*.yaml")), key=lambda c: c.name))


def contract_for(relative_path: str, contracts: tuple[Contract, ...]) -> Contract | None:
    return next((c for c in contracts if c.matches(relative_path)), None)
