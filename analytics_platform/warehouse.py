"""Connections to the warehouse: DuckDB 1.4 (LTS) serving a DuckLake.

The DuckLake keeps its catalog in SQLite and its data as Parquet files, so several processes
(ingestion runs, dbt runs, an analyst's notebook) can read and write at once; a plain DuckDB
file allows one writer and no readers beside it. Extensions load from the pinned
``duckdb-ext-*`` packages, so nothing is downloaded. A connection is opened only when asked for.
"""

from __future__ import annotations

import contextlib
import logging
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import duckdb

from analytics_platform.settings import Settings, load_settings

LAKE = "lake"
T = TypeVar("T")
log = logging.getLogger(__name__)

# Errors that mean "someone else committed first / held the catalog": safe to retry the whole
# transaction. Anything else (a cast error, a missing column) is a real failure.
_RETRYABLE = ("database is locked", "database table is locked", "conflict", "Failed to commit", "write-write")


def quote_ident(name: str) -> str:
    """Quote an identifier for DuckDB SQL (double quotes, embedded quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


def extension_directory() -> str:
    """Folder of the offline DuckDB extensions shipped by the ``duckdb-ext-*`` wheels."""
    import duckdb_ext  # namespace package: only data files

    return str(Path(next(iter(duckdb_ext.__path__))) / "extensions")


def attach_sql(settings: Settings, read_only: bool = False) -> str:
    # The catalog records the absolute data path it was created with; the data folder always sits
    # beside the catalog, so the path of this attach wins: a moved or copied warehouse (a renamed
    # project folder) keeps working. Not persisted: every attach says it.
    options = [f"DATA_PATH '{settings.data_path}/'", "OVERRIDE_DATA_PATH true"]
    if read_only:
        options.append("READ_ONLY")
    return f"ATTACH IF NOT EXISTS 'ducklake:sqlite:{settings.catalog_path}' AS {LAKE} ({', '.join(options)})"


def ensure_wal(catalog: Path) -> None:
    """Keep the SQLite catalog in WAL mode (a property of the file: set once, then a no-op).

    In SQLite's default rollback-journal mode a committing writer's lock shuts readers out: a
    dashboard or notebook reading while dbt or ingestion commits waited DuckDB's 5 s busy timeout
    and then failed with "database is locked". In WAL mode readers never wait for the writer.
    Writers still exclude each other (a DuckLake commit fails when another one landed during its
    transaction): the platform's writers share the ``warehouse`` pool, one at a time.
    """
    catalog.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(catalog, timeout=30)
    try:
        if con.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            con.execute("PRAGMA journal_mode=WAL")
    finally:
        con.close()


def _open(settings: Settings, read_only: bool) -> duckdb.DuckDBPyConnection:
    settings.data_path.mkdir(parents=True, exist_ok=True)
    ensure_wal(settings.catalog_path)
    settings.duckdb_temp_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(config={"extension_directory": extension_directory(),
                                 "memory_limit": settings.duckdb_memory_limit,
                                 "temp_directory": str(settings.duckdb_temp_dir)})
    # `encodings` (364 MB, 1.5 s to load) is loaded only for files that need it, see readers.py.
    con.execute("LOAD ducklake; LOAD sqlite")
    # DuckLake retries catalog conflicts itself; SQLite's "database is locked" under several
    # writers needs more patience than the default 10 attempts.
    con.execute("SET GLOBAL ducklake_max_retry_count = 100; SET GLOBAL ducklake_retry_wait_ms = 50")
    con.execute(attach_sql(settings, read_only))
    return con


_instances: dict[tuple[str, str, bool], duckdb.DuckDBPyConnection] = {}
_instances_lock = threading.Lock()


def connect(settings: Settings | None = None, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the DuckLake attached as the default catalog.

    Opening DuckDB, loading the extensions and attaching costs ~1 s, so each process opens one
    instance per warehouse (lazily, on first use) and hands out cursors: separate connections
    with their own transactions and temp tables, sharing the attached lake.
    """
    settings = settings or load_settings()
    key = (str(settings.catalog_path), str(settings.data_path), read_only)
    with _instances_lock:
        base = _instances.get(key)
        if base is None:
            base = _instances[key] = _open(settings, read_only)
    con = base.cursor()
    con.execute(f"USE {LAKE}")
    return con


@contextlib.contextmanager
def session(settings: Settings | None = None, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    con = connect(settings, read_only)
    try:
        yield con
    finally:
        con.close()


def is_retryable(error: BaseException) -> bool:
    return isinstance(error, duckdb.Error) and any(s in str(error) for s in _RETRYABLE)


def with_retry(work: Callable[[], T], attempts: int = 8, what: str = "transaction") -> T:
    """Run ``work`` (one whole transaction, idempotent) again when the commit lost a race."""
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except duckdb.Error as error:
            if attempt == attempts or not is_retryable(error):
                raise
            wait = min(5.0, 0.1 * 2**attempt) * (0.5 + random.random())
            log.warning("%s lost a commit race (%s); retry %d in %.1fs", what, error, attempt, wait)
            time.sleep(wait)
    raise AssertionError("unreachable")


def transaction(con: duckdb.DuckDBPyConnection, body: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
    """``body`` inside BEGIN/COMMIT, rolled back on any error, retried on commit conflicts."""

    def attempt() -> T:
        con.execute("BEGIN TRANSACTION")
        try:
            result = body(con)
            con.execute("COMMIT")
            return result
        except BaseException:
            with contextlib.suppress(duckdb.Error):
                con.execute("ROLLBACK")
            raise

    return with_retry(attempt)
