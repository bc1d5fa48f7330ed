"""Helpers for the transformation tests: real ingestion, real dbt through Dagster, temp dirs."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterable
from pathlib import Path

import dagster as dg
import polars as pl

from analytics_platform.defs.ingestion.assets import raw_tables
from analytics_platform.defs.transform.assets import dbt_models
from analytics_platform.defs.transform.project import dbt_resource
from analytics_platform.resources import WarehouseResource

FILE_DATE = re.compile(r"_(\d{4}-\d{2}-\d{2})\.\w+$")
INCREMENTAL_MODELS = {
    "staging.stg_web__events": "event_id",
    "staging.stg_web__sessions": "session_id",
    "marts.fct_orders": "order_id",
    "marts.fct_order_items": "order_item_id",
    "marts.fct_sessions": "session_id",
}


def landed_files(landing: Path) -> list[str]:
    """Landing files relative to the folder (truth files excluded), sorted by day then name."""
    files = [p.relative_to(landing).as_posix() for p in landing.rglob("*") if p.is_file() and not p.name.startswith("_")]
    return sorted(files, key=lambda f: (FILE_DATE.search(f).group(1), f))  # type: ignore[union-attr]


def file_day(relative: str) -> str:
    return FILE_DATE.search(relative).group(1)  # type: ignore[union-attr]


def resources(state: Path, landing: Path | None = None) -> dict:
    return {
        "warehouse": WarehouseResource(state_dir=str(state), landing_dir=str(landing or state / "landing")),
        "dbt": dbt_resource(),
    }


def ingest(state: Path, landing: Path, files: Iterable[str], instance: dg.DagsterInstance | None = None) -> dg.ExecuteInProcessResult:
    result = dg.materialize(
        [raw_tables],
        resources=resources(state, landing),
        instance=instance,
        run_config={"ops": {"raw_tables": {"config": {"settle_seconds": 0, "files": list(files)}}}},
    )
    assert result.success
    return result


def build(
    state: Path,
    instance: dg.DagsterInstance | None = None,
    selection: list[str] | None = None,
    extra_assets: list | None = None,
    raise_on_error: bool = True,
    **config,
) -> dg.ExecuteInProcessResult:
    """``dbt build`` of the dbt assets (or ``selection``) through Dagster, as a run would."""
    config.setdefault("incremental_lookback_minutes", 0)  # exact watermarks: exercise the logic
    return dg.materialize(
        [dbt_models, *(extra_assets or [])],
        selection=selection,
        resources=resources(state),
        instance=instance,
        run_config={"ops": {"dbt_models": {"config": config}}},
        raise_on_error=raise_on_error,
    )


def query(state: Path, sql: str, params: dict | list | None = None) -> pl.DataFrame:
    with WarehouseResource(state_dir=str(state)).connect(read_only=True) as con:
        return con.execute(sql, params or {}).pl()


def clone_state(source: Path, target: Path) -> Path:
    """An independent copy of a platform state folder (a copied warehouse works where it lands)."""
    shutil.copytree(source, target)
    return target


def check_results(result: dg.ExecuteInProcessResult) -> dict[tuple[str, str], bool]:
    return {(e.asset_key.to_user_string(), e.check_name): e.passed for e in result.get_asset_check_evaluations()}
