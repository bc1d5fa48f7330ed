"""dbt-duckdb plugin: point DuckDB at the offline extensions before dbt attaches the DuckLake.

``dbt_project/profiles.yml`` names this module under ``plugins``; the attach itself stays in the
profile, readable by analytics engineers. It runs before the attach because DuckDB reads
``extension_directory`` only at connect time. It also creates the profile's ``temp_directory``:
DuckDB creates only its last level, and a spill into a missing folder fails the query with an
IOException (which the profile's retries then turn into "transaction is aborted"). And it puts
the catalog in WAL mode when dbt is the first to open a warehouse (see ``warehouse.ensure_wal``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin

from analytics_platform.settings import load_settings
from analytics_platform.warehouse import ensure_wal, extension_directory


class Plugin(BasePlugin):
    def update_connection_config(self, creds: Any, config: dict[str, Any]) -> None:
        config.setdefault("extension_directory", extension_directory())
        temp_directory = config.get("temp_directory")
        if temp_directory:
            Path(temp_directory).mkdir(parents=True, exist_ok=True)
        ensure_wal(load_settings().catalog_path)  # the profile attaches ANALYTICS_WAREHOUSE_DIR's catalog

    def configure_connection(self, conn: Any) -> None:
        conn.execute("LOAD ducklake; LOAD sqlite")
        conn.execute("SET ducklake_max_retry_count = 100; SET ducklake_retry_wait_ms = 50")
