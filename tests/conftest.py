"""Shared fixtures: every test gets its own landing folder and warehouse in a temp dir."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from analytics_platform.resources import WarehouseResource



@dataclass
class Platform:
    root: Path
    warehouse: WarehouseResource

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def settings(self):
        return self.warehouse.settings

    def ingest(self, instance: dg.DagsterInstance | None = None, files: list[str] | None = None) -> dg.ExecuteInProcessResult:
        from analytics_platform.defs.ingestion.assets import raw_tables

        config = {"settle_seconds": 0.0, **({"files": files} if files else {})}
        return dg.materialize(
            [raw_tables],
            resources={"warehouse": self.warehouse},
            instance=instance,
            run_config={"ops": {"raw_tables": {"config": config}}},
            raise_on_error=False,
        )

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        with self.warehouse.connect(read_only=True) as con:
            return con.execute(sql, params or []).fetchall()


@pytest.fixture
def platform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Platform:
    (tmp_path / "landing").mkdir()
    monkeypatch.setenv("ANALYTICS_WAREHOUSE_DIR", str(tmp_path / "state" / "warehouse"))
    return Platform(tmp_path, WarehouseResource(state_dir=str(tmp_path / "state"), landing_dir=str(tmp_path / "landing")))
