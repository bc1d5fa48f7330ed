"""dbt-duckdb plugin: dbt's DuckDB attaches the same DuckLake as the platform, from the same setting.

``dbt_project/profiles.yml`` names this module under ``plugins``. It points DuckDB at the offline
extensions (DuckDB reads ``extension_directory`` only at connect time; they load without the
signature check, which cost every dbt start 0.43 s, and nothing is downloaded), then attaches the lake
with ``warehouse.prepare`` + ``warehouse.attach``, the platform's own code: embedded, the SQLite
catalog of ``ANALYTICS_WAREHOUSE_DIR``; shared (``ANALYTICS_CATALOG_URL``), the PostgreSQL catalog
and the object store, with the secrets created from the environment, so the profile holds no
path, address or credential. dbt-duckdb runs plugins' ``configure_connection`` before the
profile's own ``attach`` list, whose one entry then only tells dbt-duckdb that ``lake`` is a
DuckLake. It sets DuckDB's ``memory_limit`` and ``temp_directory`` (the platform's own:
``settings.py``) and creates that folder: DuckDB creates only its last level, and a spill into a missing folder fails the query with an
IOException (which the profile's retries then turn into "transaction is aborted"). It puts
the catalog in WAL mode when dbt is the first to open a warehouse (see ``warehouse.ensure_wal``).
And a dbt that a platform run started dies with that run's process: when the run worker is
killed (OOM, kill -9), its dbt would otherwise go on writing, unowned, beside the run's retry.

A dbt takes the writer lock (``warehouse_lock``) before it connects: an engineer's own ``dbt
build`` and the platform's writers (embedded) or the platform's dbt (shared) wait for each other
instead of colliding at COMMIT.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from pathlib import Path
from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin

from analytics_platform import warehouse, warehouse_lock
from analytics_platform.settings import DBT_PARENT_PID_VARIABLE, DBT_RUN_ID_VARIABLE, Settings, load_settings

PR_SET_PDEATHSIG = 1
READ_ONLY_COMMANDS = frozenset({"compile", "debug", "docs", "list", "ls", "parse", "show", "source"})
_held: list[object] = []  # the writer lock (a file descriptor or a connection), held until this dbt process exits


def die_with_parent() -> None:
    """Ask the kernel to kill this dbt process when the platform process that started it dies.

    Only under the platform (it sets ``ANALYTICS_DBT_PARENT_PID``): an engineer's own ``nohup dbt
    build &`` must outlive its shell.
    """
    parent = os.environ.get(DBT_PARENT_PID_VARIABLE)
    if not parent or not sys.platform.startswith("linux"):
        return
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != int(parent):  # the parent died before the request took effect
        os.kill(os.getpid(), signal.SIGKILL)


def take_writer_lock(settings: Settings, command: str) -> None:
    """For the rest of this dbt process: the warehouse's writer lock (``warehouse_lock.acquire_for_dbt``);
    none for commands that write nothing (``dbt show`` answers at once)."""
    if _held or command in READ_ONLY_COMMANDS:
        return
    run_id = os.environ.get(DBT_RUN_ID_VARIABLE)
    under_platform = bool(os.environ.get(DBT_PARENT_PID_VARIABLE))
    who = f"the platform (run {run_id[:8]})" if run_id else "the platform" if under_platform else "a dbt started outside the platform"
    _held.append(warehouse_lock.acquire_for_dbt(settings, under_platform, who, _say))


def _command() -> str:
    from dbt.flags import get_flags

    return str(getattr(get_flags(), "WHICH", "") or "")


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class Plugin(BasePlugin):
    def update_connection_config(self, creds: Any, config: dict[str, Any]) -> None:
        die_with_parent()
        config.setdefault("extension_directory", warehouse.extension_directory())
        # DuckDB hashes an extension's whole file to check its signature at every LOAD: ~0.2 s for
        # each of ducklake and sqlite (49 MB each), 0.43 s of every dbt start. They are the files
        # of the pinned duckdb-ext-* wheels in this environment, trusted like duckdb itself, so
        # they load unverified; nothing is ever downloaded (an extension missing there fails).
        config.setdefault("allow_unsigned_extensions", True)
        config.setdefault("autoinstall_known_extensions", False)
        settings = load_settings()
        # Here, not in the profile: what the profile renders is part of dbt's profile hash, and a
        # parse is reused only under the same hash (a per-warehouse path there cost the first dbt
        # run on each warehouse a full parse).
        config.setdefault("memory_limit", settings.duckdb_memory_limit)
        config.setdefault("temp_directory", str(settings.duckdb_temp_dir))
        Path(config["temp_directory"]).mkdir(parents=True, exist_ok=True)
        take_writer_lock(settings, _command())
        if not settings.shared:
            warehouse.ensure_wal(settings.catalog_path)

    def configure_connection(self, conn: Any) -> None:
        settings = load_settings()
        warehouse.prepare(conn, settings)
        conn.execute("SET ducklake_max_retry_count = 100; SET ducklake_retry_wait_ms = 50")
        warehouse.attach(conn, settings)
