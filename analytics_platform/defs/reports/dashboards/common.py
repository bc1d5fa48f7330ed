"""What the dashboard assets share: where files go, how they are written, what they report."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import dagster as dg
import duckdb

from analytics_platform import files, warehouse as lake
from analytics_platform.defs.reports.page import Kpi, Page, render
from analytics_platform.settings import Settings

GROUP = "reports"
KEY_PREFIX = "reports"
OWNERS = ["team:analytics"]
TAGS = {"layer": "reports", "analytics/report": "dashboard"}
T = TypeVar("T")


DASHBOARDS = "dashboards"  # their folder under the reports' root (files.reports_root)


def dashboards_dir(settings: Settings) -> Path:
    """The embedded mode's dashboard folder (shared mode: ``<reports_root>dashboards/`` on the object store)."""
    return settings.reports_dir / DASHBOARDS


def read_warehouse(warehouse: Any, read: Callable[[duckdb.DuckDBPyConnection], T], empty: Callable[[], T]) -> T:
    """``read(con)`` on a read-only connection, or ``empty()`` while no warehouse exists yet
    (nothing ingested: a read-only attach of a missing catalog fails)."""
    if not lake.exists(warehouse.settings):
        return empty()
    with warehouse.connect(read_only=True) as con:
        return read(con)


def existing_tables(con: duckdb.DuckDBPyConnection, schema: str) -> set[str]:
    rows = con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'lake' AND table_schema = ?", [schema]
    ).fetchall()
    return {r[0] for r in rows}


def columns_of(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> set[str]:
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_catalog = 'lake' AND table_schema = ? AND table_name = ?",
        [schema, table],
    ).fetchall()
    return {r[0] for r in rows}


def human_size(size: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size} B"


def kpi_markdown(kpis: Sequence[Kpi]) -> str:
    lines = ["| KPI | value | change |", "|---|---|---|"]
    lines += [f"| {k.label} | {k.value} | {k.delta or ''} |" for k in kpis]
    return "\n".join(lines)


def publish(page: Page, settings: Settings, file_name: str, started: float, summary_md: str,
            extra: dict[str, Any] | None = None) -> dg.MaterializeResult:
    """Render ``page`` to the dashboards' folder (or prefix) and describe the file in the materialization's metadata."""
    location, size = files.publish(settings, f"{DASHBOARDS}/{file_name}", render(page))
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(location),
            "size_bytes": dg.MetadataValue.int(size),
            "size": human_size(size),
            "charts": len(page.charts),
            "build_seconds": dg.MetadataValue.float(round(time.perf_counter() - started, 2)),
            "summary": dg.MetadataValue.md(summary_md),
            **(extra or {}),
        }
    )


def refresh_when_upstream_changes() -> dg.AutomationCondition:
    """``eager()``, except that a dependency that was never materialized (an optional ML table,
    an empty source) does not hold the dashboard back: it shows "not available yet" there."""
    return dg.AutomationCondition.eager().without(~dg.AutomationCondition.any_deps_missing())
