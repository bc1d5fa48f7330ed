"""dbt sources generated from the ingestion contracts: one contract file per raw table is enough.

Each source system gets ``dbt_project/models/staging/<source>/_<source>__sources.yml``, written
from its contracts (``defs/ingestion/contracts/<source>__<table>.yaml``): schema ``raw``, one
table per contract (``identifier`` = the raw table), its description and columns, and dbt source
freshness on ``_loaded_at`` (``freshness_hours`` of the contract). The files are committed, so
the project reads like any dbt project; :func:`write_sources` runs before every ``dbt parse``
of the platform (``project.prepare_manifest``) and ``tests/transform/test_sources.py`` fails
when a committed file differs from what the contracts give.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import groupby
from pathlib import Path

import yaml

from analytics_platform.defs.ingestion.contracts import RAW_SCHEMA, Contract, load_contracts
from analytics_platform.files import write_atomically

HEADER = (
    "# Generated from analytics_platform/defs/ingestion/contracts/{source}__*.yaml by\n"
    "# analytics_platform/defs/transform/sources.py (on every manifest prepare): edit the contracts.\n"
)


def sources_path(project_dir: Path, source: str) -> Path:
    return project_dir / "models" / "staging" / source / f"_{source}__sources.yml"


def _freshness(contract: Contract) -> dict | None:
    if contract.freshness_hours is None:
        return None
    warn, error = contract.freshness_hours
    return {"warn_after": {"count": warn, "period": "hour"}, "error_after": {"count": error, "period": "hour"}}


def _table(contract: Contract) -> dict:
    columns = [
        {"name": c.name, "data_type": c.type, "description": c.description, **({"meta": {"pii": True}} if c.pii else {})}
        for c in contract.columns
    ]
    return {
        "name": contract.table,
        "identifier": contract.name,
        "description": contract.description,
        "config": {"loaded_at_field": "_loaded_at", "freshness": _freshness(contract)},
        "columns": columns,
    }


def render_source(source: str, contracts: Iterable[Contract]) -> str:
    """The sources .yml of one source system."""
    document = {
        "version": 2,
        "sources": [
            {
                "name": source,
                "description": (
                    f"Raw tables of the `{source}` system, loaded from landing files by the ingestion layer. "
                    "They keep every delivered version of a record plus the lineage columns "
                    "`_source_file`, `_file_hash` and `_loaded_at`."
                ),
                "schema": RAW_SCHEMA,
                "tables": [_table(c) for c in sorted(contracts, key=lambda c: c.table)],
            }
        ],
    }
    return HEADER.format(source=source) + yaml.safe_dump(document, sort_keys=False, width=100, allow_unicode=True)


def rendered_sources(project_dir: Path, contracts: Iterable[Contract] | None = None) -> dict[Path, str]:
    """Path → text of every sources .yml the contracts give."""
    by_source = groupby(sorted(contracts or load_contracts(), key=lambda c: c.source), key=lambda c: c.source)
    return {sources_path(project_dir, source): render_source(source, group) for source, group in by_source}


def write_sources(project_dir: Path, contracts: Iterable[Contract] | None = None) -> list[Path]:
    """Write the sources .yml files that differ from the contracts; returns those written."""
    written = []
    for path, text in rendered_sources(project_dir, contracts).items():
        if not path.exists() or path.read_text() != text:
            written.append(write_atomically(path, text))
    return written
