"""Where the platform keeps its files, from one place.

Every path comes from an environment variable with a project-local default, so the Dagster
resources, dbt's profile (``dbt_project/profiles.yml``) and the command line all agree, and
``rm -rf .state landing`` resets the platform. Nothing here opens a file or a connection.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
# Set for the dbt processes the platform starts: their pid of the parent (see dbt_plugin.die_with_parent).
DBT_PARENT_PID_VARIABLE = "ANALYTICS_DBT_PARENT_PID"


def _path(var: str, default: Path) -> Path:
    value = os.environ.get(var)
    return Path(value).expanduser().resolve() if value else default


@dataclass(frozen=True)
class Settings:
    """Resolved locations. Build one with :func:`load_settings` (reads the environment)."""

    state_dir: Path
    warehouse_dir: Path
    landing_dir: Path
    quarantine_dir: Path
    reports_dir: Path
    mlflow_dir: Path
    # DuckDB's memory_limit in every platform process (dbt's profile reads the same variable):
    # beyond it joins, aggregates and sorts spill to ``duckdb_temp_dir``. DuckDB's own default
    # is 80 % of the machine's RAM per process.
    duckdb_memory_limit: str

    @property
    def duckdb_temp_dir(self) -> Path:
        return self.state_dir / "tmp" / "duckdb"

    @property
    def catalog_path(self) -> Path:
        """SQLite file holding the DuckLake catalog (table metadata, snapshots)."""
        return self.warehouse_dir / "catalog.sqlite"

    @property
    def data_path(self) -> Path:
        """Folder of the DuckLake's Parquet data files."""
        return self.warehouse_dir / "data"

    @property
    def alerts_log(self) -> Path:
        return self.state_dir / "alerts.log"


def load_settings() -> Settings:
    state = _path("ANALYTICS_STATE_DIR", PROJECT_ROOT / ".state")
    return Settings(
        state_dir=state,
        # dbt's profile reads the same variable with the same default (relative to dbt_project/).
        warehouse_dir=_path("ANALYTICS_WAREHOUSE_DIR", state / "warehouse"),
        landing_dir=_path("ANALYTICS_LANDING_DIR", PROJECT_ROOT / "landing"),
        quarantine_dir=_path("ANALYTICS_QUARANTINE_DIR", state / "quarantine"),
        reports_dir=_path("ANALYTICS_REPORTS_DIR", state / "reports"),
        mlflow_dir=_path("ANALYTICS_MLFLOW_DIR", state / "mlflow"),
        # dbt's profile reads the same variable with the same default.
        duckdb_memory_limit=os.environ.get("ANALYTICS_DUCKDB_MEMORY_LIMIT") or "900MB",
    )
