"""Where profiles live: ``meta.dataset_profiles`` in the warehouse (one current row per dataset,
the JSON the dashboard and contract are rendered from) and files under ``<reports>/profiles/``
(written with ``files.write_atomically``)."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from analytics_platform.settings import Settings
from analytics_platform.warehouse import transaction, with_retry

DDL = """
CREATE SCHEMA IF NOT EXISTS meta;
CREATE TABLE IF NOT EXISTS meta.dataset_profiles (
    dataset VARCHAR, fingerprint VARCHAR, row_count BIGINT, column_count INTEGER, insight_count INTEGER,
    profile VARCHAR,  -- the whole profile as JSON (see profile.py)
    run_id VARCHAR, profiled_at TIMESTAMP
);
"""


def profiles_dir(settings: Settings) -> Path:
    return settings.reports_dir / "profiles"


def file_stem(dataset: str) -> str:
    """Dataset names are already safe ([a-z0-9_]); this only guards paths against anything else."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", dataset).lstrip(".") or "dataset"


def artifact_path(settings: Settings, dataset: str, suffix: str) -> Path:
    return profiles_dir(settings) / f"{file_stem(dataset)}{suffix}"


def save(con: duckdb.DuckDBPyConnection, profile: dict[str, Any], run_id: str) -> None:
    with_retry(lambda: con.execute(DDL), what="creating meta.dataset_profiles")
    payload = json.dumps(profile, allow_nan=False, default=str)

    def body(c: duckdb.DuckDBPyConnection) -> None:
        c.execute("DELETE FROM meta.dataset_profiles WHERE dataset = ?", [profile["dataset"]])
        c.execute(
            "INSERT INTO meta.dataset_profiles VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [profile["dataset"], profile.get("fingerprint"), profile["rows"], len(profile["columns"]), len(profile["insights"]),
             payload, run_id, datetime.fromisoformat(profile["profiled_at"])],
        )

    transaction(con, body)


def load(con: duckdb.DuckDBPyConnection, dataset: str) -> dict[str, Any] | None:
    try:
        row = con.execute("SELECT profile FROM meta.dataset_profiles WHERE dataset = ? ORDER BY profiled_at DESC LIMIT 1", [dataset]).fetchone()
    except duckdb.CatalogException:
        return None
    return json.loads(row[0]) if row else None
