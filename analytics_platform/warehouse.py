"""Connections to the warehouse: DuckDB 1.4 (LTS) serving a DuckLake.

The DuckLake keeps its catalog in a database and its data as Parquet files, so several processes
(ingestion runs, dbt runs, an analyst's notebook) can read and write at once; a plain DuckDB
file allows one writer and no readers beside it. Embedded (the default) the catalog is a SQLite
file and the data a local folder; shared (``settings.shared``) the catalog is in PostgreSQL and
the data on an S3-compatible object store. One code path serves both: only :func:`prepare` and
:func:`attach_sql` differ. Extensions load from the pinned ``duckdb-ext-*`` packages, so nothing is
downloaded. A connection is opened only when asked for.
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

from analytics_platform.settings import CATALOG_URL_VARIABLE, S3_ENDPOINT_VARIABLE, Settings, SharedWarehouse, load_settings

LAKE = "lake"
# DuckDB secrets of the shared mode (in memory, per DuckDB instance; never persisted).
CATALOG_SECRET = "analytics_lake_catalog"
S3_SECRET = "analytics_lake_s3"
T = TypeVar("T")
log = logging.getLogger(__name__)

# Errors that mean "someone else committed first / held the catalog": safe to retry the whole
# transaction. Anything else (a cast error, a missing column) is a real failure. The SQLite
# catalog says "database is locked".
# Measured on PostgreSQL (4 processes, DuckLake 1.4.4): with DuckLake's own retries off, racing
# commits fail with PostgreSQL's "could not serialize access due to concurrent update" or
# 'duplicate key value violates unique constraint "ducklake_data_file_pkey"'; with them on, only
# true conflicts remain ("Transaction conflict - attempting to drop table ... dropped it already").
_RETRYABLE = ("database is locked", "database table is locked", "conflict", "Failed to commit", "write-write",
              "could not serialize access", 'violates unique constraint "ducklake_')


class WarehouseUnavailable(duckdb.IOException):
    """The shared warehouse's catalog or object store did not answer. The message names which
    (its address, never a credential) and the variable that sets it."""


def quote_ident(name: str) -> str:
    """Quote an identifier for DuckDB SQL (double quotes, embedded quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """Quote a string literal for DuckDB SQL (single quotes, embedded quotes doubled)."""
    return "'" + value.replace("'", "''") + "'"


def extension_directory() -> str:
    """Folder of the offline DuckDB extensions shipped by the ``duckdb-ext-*`` wheels."""
    import duckdb_ext  # namespace package: only data files

    return str(Path(next(iter(duckdb_ext.__path__))) / "extensions")


def describe(settings: Settings) -> str:
    """Where the warehouse is, for messages and metadata (no credentials)."""
    if settings.shared:
        return f"DuckLake catalog {settings.shared.catalog_url}, data {settings.shared.data_url} at {settings.shared.s3_endpoint}"
    return f"DuckLake catalog {settings.catalog_path}, data {settings.data_path}"


def attach_sql(settings: Settings, read_only: bool = False, alias: str = LAKE) -> str:
    """The ATTACH of the DuckLake; run :func:`prepare` on the connection first."""
    shared = settings.shared
    if shared:
        # The catalog string has no password (DuckDB repeats it in its errors): it comes from
        # the secret. The data path is the catalog's own: a different one fails instead of
        # hiding the files already written.
        target = f"ducklake:postgres:{shared.catalog_dsn}"
        options = [f"DATA_PATH {quote_literal(shared.data_url)}"]
        if shared.catalog_password is not None:
            options.append(f"META_SECRET {CATALOG_SECRET}")
    else:
        # The catalog records the absolute data path it was created with; the data folder always
        # sits beside the catalog, so the path of this attach wins: a moved or copied warehouse (a
        # renamed project folder) keeps working. Not persisted: every attach says it.
        target = f"ducklake:sqlite:{settings.catalog_path}"
        options = [f"DATA_PATH {quote_literal(f'{settings.data_path}/')}", "OVERRIDE_DATA_PATH true"]
    if read_only:
        options.append("READ_ONLY")
    return f"ATTACH IF NOT EXISTS {quote_literal(target)} AS {quote_ident(alias)} ({', '.join(options)})"


def _create_secrets(con: duckdb.DuckDBPyConnection, shared: SharedWarehouse) -> None:
    s3 = [f"ENDPOINT {quote_literal(shared.s3_endpoint)}", "URL_STYLE 'path'", f"USE_SSL {str(shared.s3_use_ssl).lower()}",
          f"REGION {quote_literal(shared.s3_region)}", f"SCOPE {quote_literal(f's3://{shared.bucket}/')}"]
    if shared.s3_key_id is not None:
        s3.append(f"KEY_ID {quote_literal(shared.s3_key_id)}")
    if shared.s3_secret is not None:
        s3.append(f"SECRET {quote_literal(shared.s3_secret)}")
    statements = [f"CREATE OR REPLACE SECRET {S3_SECRET} (TYPE s3, {', '.join(s3)})"]
    if shared.catalog_password is not None:
        statements.append(f"CREATE OR REPLACE SECRET {CATALOG_SECRET} (TYPE postgres, PASSWORD {quote_literal(shared.catalog_password)})")
    for statement in statements:
        try:
            con.execute(statement)
        except duckdb.Error:
            # DuckDB may quote the statement in its message: say which secret, never its text.
            raise duckdb.InvalidInputException(f"could not create the DuckDB secret {statement.split()[4]} "
                                               "from the environment (AWS_*, PGPASSWORD)") from None


def prepare(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """Load the extensions the warehouse needs; in shared mode, create its secrets from the environment."""
    if settings.shared:
        con.execute("LOAD ducklake; LOAD postgres; LOAD httpfs")
        _create_secrets(con, settings.shared)
    else:
        con.execute("LOAD ducklake; LOAD sqlite")


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0]


def attach(con: duckdb.DuckDBPyConnection, settings: Settings, read_only: bool = False, alias: str = LAKE) -> None:
    """Attach the DuckLake (after :func:`prepare`). In shared mode an unreachable catalog or object
    store raises :class:`WarehouseUnavailable` naming it, at once rather than at the first write."""
    shared = settings.shared
    if not shared:
        con.execute(attach_sql(settings, read_only, alias))
        return
    try:
        con.execute(attach_sql(settings, read_only, alias))
    except duckdb.Error as error:
        raise WarehouseUnavailable(f"the DuckLake catalog at {shared.catalog_url} ({CATALOG_URL_VARIABLE}) "
                                   f"could not be attached: {_first_line(error)}") from None
    try:  # one listing request: answers in milliseconds, and fails as the first write would
        con.execute("SELECT count(*) FROM glob(?)", [f"{shared.data_url}*"]).fetchone()
    except duckdb.Error as error:
        with contextlib.suppress(duckdb.Error):
            con.execute(f"DETACH {quote_ident(alias)}")
        raise WarehouseUnavailable(f"the object store at {shared.s3_endpoint} ({S3_ENDPOINT_VARIABLE}) did not serve "
                                   f"{shared.data_url}: {_first_line(error)}") from None


def exists(settings: Settings) -> bool:
    """Whether there is a warehouse to read yet. Embedded: once its catalog file exists (a
    read-only attach of a missing one fails). Shared: the first read-write connection creates the
    catalog in PostgreSQL, so this opens it (raising :class:`WarehouseUnavailable` when the
    servers do not answer)."""
    if settings.shared:
        connect(settings).close()
        return True
    return settings.catalog_path.exists()


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
    if not settings.shared:
        settings.data_path.mkdir(parents=True, exist_ok=True)
        ensure_wal(settings.catalog_path)
    settings.duckdb_temp_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(config={"extension_directory": extension_directory(),
                                 "memory_limit": settings.duckdb_memory_limit,
                                 "temp_directory": str(settings.duckdb_temp_dir)})
    # `encodings` (364 MB, 1.5 s to load) is loaded only for files that need it, see readers.py.
    prepare(con, settings)
    # DuckLake retries catalog conflicts itself; SQLite's "database is locked" under several
    # writers needs more patience than the default 10 attempts.
    con.execute("SET GLOBAL ducklake_max_retry_count = 100; SET GLOBAL ducklake_retry_wait_ms = 50")
    try:
        attach(con, settings, read_only)
    except BaseException:
        con.close()
        raise
    return con


_instances: dict[tuple[str, bool], duckdb.DuckDBPyConnection] = {}
_instances_lock = threading.Lock()


def connect(settings: Settings | None = None, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the DuckLake attached as the default catalog.

    Opening DuckDB, loading the extensions and attaching costs ~1 s, so each process opens one
    instance per warehouse (lazily, on first use) and hands out cursors: separate connections
    with their own transactions and temp tables, sharing the attached lake.
    """
    settings = settings or load_settings()
    key = (describe(settings), read_only)
    for attempt in (1, 2):
        with _instances_lock:
            base = _instances.get(key)
            if base is None:
                base = _instances[key] = _open(settings, read_only)
        con = base.cursor()
        try:
            con.execute(f"USE {LAKE}")
            return con
        except duckdb.Error as error:
            con.close()
            if attempt == 2 or not _lost_catalog(settings, error):
                raise
    raise AssertionError("unreachable")


# libpq's words for a catalog connection that died under an open DuckDB instance (server
# restarted, failover, network cut); DuckDB does not reconnect it by itself. A COMMIT on such a
# connection reports only its failed ROLLBACK, with no reason.
_LOST_CATALOG = ("no connection to the server", "server closed the connection", "terminating connection",
                 "could not receive data from server", "connection to server", 'Failed to execute query "ROLLBACK"')


def _lost_catalog(settings: Settings, error: duckdb.Error) -> bool:
    """Whether ``error`` says the shared catalog's connection died; if so, this process's instances
    of that warehouse are dropped, so the next :func:`connect` opens a new one."""
    if settings.shared is None or isinstance(error, WarehouseUnavailable) or not any(s in str(error) for s in _LOST_CATALOG):
        return False
    with _instances_lock:
        for mode in (True, False):
            _instances.pop((describe(settings), mode), None)
    return True


@contextlib.contextmanager
def session(settings: Settings | None = None, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor of this process's instance for the block. In shared mode, when the catalog's
    connection dies during the block, :class:`WarehouseUnavailable` names the catalog and the next
    session opens a new instance (so a retried step reconnects)."""
    settings = settings or load_settings()
    con = connect(settings, read_only)
    try:
        yield con
    except duckdb.Error as error:
        if not _lost_catalog(settings, error):
            raise
        raise WarehouseUnavailable(f"the DuckLake catalog at {settings.shared.catalog_url} ({CATALOG_URL_VARIABLE}) dropped "
                                   f"the connection: {_first_line(error)}. Nothing of the open transaction was committed; "
                                   "the next connection is a new one (run or retry the step once PostgreSQL answers)") from None
    finally:
        con.close()


def is_retryable(error: BaseException) -> bool:
    text = str(error)
    return isinstance(error, duckdb.Error) and any(s in text for s in _RETRYABLE) and not any(s in text for s in _LOST_CATALOG)


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
