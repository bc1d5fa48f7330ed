"""Dagster's instance storage (``storage: custom`` in dagster.yaml), chosen by one setting.

``PlatformStorage`` is what dagster.yaml names. With ``ANALYTICS_DAGSTER_URL`` unset (the default,
``up``) it is ``LocalSqliteStorage`` below, in ``$DAGSTER_HOME``. With it set
(``postgresql://user@host:5432/dagster``, password from ``PGPASSWORD``) it is dagster-postgres's
``DagsterPostgresStorage``: runs, event log, schedules and pool slots in PostgreSQL, which several
processes and machines share. Same dagster.yaml, same run queue and pools: only where they are kept
changes. Every Dagster process (webserver, daemon, run workers, ``materialize``) builds the instance
from this file, so each sees the variable of its own environment; a run worker started by
``dagster dev`` inherits it.

Local SQLite without a disk flush per event:

Dagster writes every event (a run queued, a step started, each dbt test reported as an asset
check) as its own SQLite transaction on a fresh connection; with SQLite's default
``synchronous=FULL`` each one waits for the disk, and closing the connection checkpoints the WAL
and waits again. Measured on this machine: creating one landing run (ingestion + the dbt models
above it: 219 planned-materialization/check events) took 15–19 s with FULL and 3–4 s with OFF,
so the event log, not dbt, was most of a small run's time.

``synchronous=OFF`` hands writes to the operating system without waiting for the disk. A killed
or crashed process loses nothing (the OS still writes its pages); an OS crash or power loss can
damage the *run history* in ``$DAGSTER_HOME`` (never the warehouse, which is a separate DuckLake).
That is the trade for a local instance; set ``synchronous: FULL`` in dagster.yaml to undo it, and
use Postgres storage for a shared deployment.

The event log also keeps its connections open between events (``ReusingSqliteEventLogStorage``):
a fresh engine and connection per event cost more than the write itself (6.8–9.4 ms an event
against 2.5–3.2 ms, and 5.6–9.4 s against 2.6–4.1 s to create the landing run, side by side at
load 10–13).

The layout on disk is exactly Dagster's default (``DagsterSqliteStorage`` in ``$DAGSTER_HOME``).
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

from dagster._config import Field, StringSource
from dagster._core.storage.base_storage import DagsterStorage
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME,
    SQLITE_BUSY_TIMEOUT_SECONDS,
    SqliteEventLogStorage,
)
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage, _event_logs_directory
from dagster._serdes import ConfigurableClass, ConfigurableClassData
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.pool import Pool

from analytics_platform.settings import DAGSTER_URL_VARIABLE, service_url

LEVELS = ("OFF", "NORMAL", "FULL")
_LEVEL_BY_DIR: dict[str, str] = {}


@event.listens_for(Pool, "connect")
def _set_synchronous(dbapi_connection, _record) -> None:
    """Every new SQLite connection to a database under a registered folder gets its level."""
    if not _LEVEL_BY_DIR or not isinstance(dbapi_connection, sqlite3.Connection):
        return
    path = next((row[2] for row in dbapi_connection.execute("PRAGMA database_list") if row[1] == "main"), "")
    for folder, level in _LEVEL_BY_DIR.items():
        if path.startswith(folder):
            dbapi_connection.execute(f"PRAGMA synchronous={level}")
            return


class ReusingSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's SQLite event log, keeping its connections open between events.

    Dagster opens a new engine and connection for every event it stores (two or three per asset
    check event: the run's database and the cross-run index), and closing one checkpoints the
    WAL. This keeps one engine, with its pooled connection, for each of the ``KEEP`` databases
    used last. A run database is checkpointed after each write all the same: Dagster's file
    watcher (the UI's live run logs) reacts to changes of the ``<run_id>.db`` file, not of its WAL.
    Same files, same transactions, same lock as Dagster's.
    """

    KEEP = 8

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        super().__init__(base_dir, inst_data=inst_data)

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            engine = self._engines.pop(shard, None)
            if engine is None:
                engine = create_engine(self.conn_string_for_shard(shard),
                                       connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False})
            self._engines[shard] = engine  # most recently used last
            while len(self._engines) > self.KEEP:
                self._engines.popitem(last=False)[1].dispose()
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn:
                with conn.begin():
                    yield conn
                if shard != INDEX_SHARD_NAME:
                    conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")

    def _dispose_engines(self) -> None:
        with self._db_lock:
            while self._engines:
                self._engines.popitem()[1].dispose()

    def wipe(self) -> None:
        self._dispose_engines()  # wipe deletes the run databases
        super().wipe()

    def dispose(self) -> None:
        self._dispose_engines()
        super().dispose()


class LocalSqliteStorage(DagsterSqliteStorage):
    """``DagsterSqliteStorage`` whose databases use ``PRAGMA synchronous=<level>``, its event log
    reusing connections (``ReusingSqliteEventLogStorage``)."""

    def __init__(self, base_dir: str, synchronous: str = "OFF", inst_data: ConfigurableClassData | None = None):
        if synchronous not in LEVELS:
            raise ValueError(f"synchronous must be one of {LEVELS}, not {synchronous!r}")
        _LEVEL_BY_DIR[os.path.join(os.path.abspath(base_dir), "")] = synchronous
        super().__init__(base_dir, inst_data=inst_data)
        self._event_log_storage = ReusingSqliteEventLogStorage(_event_logs_directory(base_dir))

    @classmethod
    def config_type(cls):
        return {
            "base_dir": Field(StringSource, is_required=False,
                              description="Default: $DAGSTER_HOME (a temporary folder when it is unset, e.g. `dg check defs`)."),
            "synchronous": Field(str, is_required=False, default_value="OFF",
                                 description="SQLite PRAGMA synchronous for the instance's databases: OFF, NORMAL or FULL."),
        }

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> LocalSqliteStorage:
        config = dict(config_value)
        base_dir = config.pop("base_dir", None) or os.environ.get("DAGSTER_HOME") or tempfile.mkdtemp(prefix="dagster-home-")
        return cls.from_local(base_dir, inst_data=inst_data, **config)

    @classmethod
    def from_local(cls, base_dir: str, inst_data=None, synchronous: str = "OFF") -> LocalSqliteStorage:
        os.makedirs(base_dir, exist_ok=True)
        return cls(base_dir, synchronous=synchronous, inst_data=inst_data)


class PlatformStorage(DagsterStorage, ConfigurableClass):
    """Chooses the storage when the instance loads; never itself instantiated (see the module docstring).

    The chosen storage keeps this class's ``inst_data``, so an instance rebuilt from its ref (a run
    worker) chooses again from its own environment.
    """

    @classmethod
    def config_type(cls):
        return LocalSqliteStorage.config_type()

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> DagsterStorage:
        url = service_url(DAGSTER_URL_VARIABLE)
        if url is None:
            return LocalSqliteStorage.from_config_value(inst_data, config_value)
        from dagster_postgres import DagsterPostgresStorage

        return DagsterPostgresStorage(url, inst_data=inst_data)
