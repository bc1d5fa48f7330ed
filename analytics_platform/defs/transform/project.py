"""The dbt project, its manifest, and how dbt is run against the platform's warehouse.

The manifest (``dbt_project/target/manifest.json``) is built once by :func:`prepare_manifest`
(the dbt sources written from the ingestion contracts, ``sources.py``, then ``dbt parse``): at
install time, or on import when it is missing or older than a file of the project or a contract.
Definitions load from it without running dbt.

What a dbt step costs before dbt runs its first node was measured on tiny data (bench scale
0.01, 2 busy cores): ``dbt --version`` 3.2 s and an in-process dbt adapter with its macros
4.6 s, both from dagster-dbt, then a full ``dbt parse`` in the subprocess 5.3 s. Hence:

- :class:`AnalyticsDbtCliResource` takes dbt's version from this environment's dbt-core and
  skips the in-process adapter, which dagster-dbt only needs to fetch row counts or column
  metadata (row counts come from ``row_counts.py`` instead);
- dbt reuses its previous parse (``partial_parse.msgpack``) only when its profile hash matches,
  and the warehouse path is part of that hash: the parse prepared in ``target/`` helps runs
  against the default warehouse only. Each warehouse therefore keeps the newest parse of its
  own runs under ``<state_dir>/dbt/`` (:func:`run_target_path` starts a run from it,
  :func:`keep_partial_parse` saves it). dbt still checks every file and hash itself, so a stale
  copy only costs a full parse, never a wrong one.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import shutil
import sys
import threading
import uuid
from collections.abc import Iterator, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

from dagster._utils import run_with_concurrent_update_guard
from dagster_dbt import DbtCliResource, DbtProject
from packaging import version

from analytics_platform.defs.ingestion.contracts import CONTRACTS_DIR
from analytics_platform.defs.transform.sources import write_sources
from analytics_platform.defs.transform.test_scope import LOADED_AFTER_VARIABLE
from analytics_platform.files import replaced_atomically
from analytics_platform.settings import DBT_PARENT_PID_VARIABLE, DBT_PROJECT_DIR, DBT_RUN_ID_VARIABLE, Settings, environment, load_settings

DBT_PROJECT = DbtProject(project_dir=DBT_PROJECT_DIR)
_SOURCES = ("models", "macros", "seeds", "snapshots", "tests")
_ENV_LOCK = threading.Lock()
KEPT_RUN_TARGETS = 20
PARTIAL_PARSE = "partial_parse.msgpack"


def _newest_source_mtime() -> float:
    root = DBT_PROJECT.project_dir
    paths = [root / "dbt_project.yml", root / "profiles.yml", *CONTRACTS_DIR.glob("*.yaml")]
    for folder in _SOURCES:
        paths.extend(p for p in (root / folder).rglob("*") if p.is_file())
    return max((p.stat().st_mtime for p in paths if p.exists()), default=0.0)


def manifest_is_current() -> bool:
    manifest = DBT_PROJECT.manifest_path
    return manifest.exists() and manifest.stat().st_mtime >= _newest_source_mtime()


def dbt_executable() -> str:
    """dbt of this interpreter's environment (works without an activated virtualenv)."""
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


def prepare_manifest(settings: Settings | None = None) -> Path:
    """Parse the dbt project into ``target/manifest.json`` (and the partial-parse file runs reuse).

    Call it from the install command. Parsing needs no warehouse data; ``settings`` only chooses
    the warehouse path that goes into dbt's profile hash, so later runs against that warehouse
    reuse this parse instead of parsing again.
    """
    def parse() -> None:
        write_sources(DBT_PROJECT.project_dir)
        with dbt_environment(settings or load_settings()):
            dbt_resource().cli(["parse", "--quiet"], target_path=DBT_PROJECT.target_path).wait()

    # one parse at a time when several processes load the definitions at once
    run_with_concurrent_update_guard(DBT_PROJECT.manifest_path, parse)
    return DBT_PROJECT.manifest_path


def ensure_manifest() -> Path:
    """The manifest, prepared first when missing or older than a file of the dbt project.

    Unlike ``DbtProject.prepare_if_dev``, this does not parse on every load under ``dagster dev``:
    every run worker loads the definitions, and a ``dbt parse`` there cost each run ~5 s before
    its first step. Editing a model still re-parses on the next load (the files are newer).
    """
    if not manifest_is_current():
        prepare_manifest()
    return DBT_PROJECT.manifest_path


@contextlib.contextmanager
def dbt_environment(settings: Settings, run_id: str | None = None, tests_loaded_after: str = "") -> Iterator[None]:
    """Environment of a dbt invocation: ``ANALYTICS_WAREHOUSE_DIR`` = the warehouse of ``settings``,
    ``ANALYTICS_STATE_DIR`` (DuckDB spills under it, see ``profiles.yml``), the DuckDB memory limit
    the platform's own connections use, cautious indirect test selection, and the rows the
    tests read (``tests_loaded_after``: ``test_scope.py``; empty = every row).

    ``DbtCliResource`` hands dbt a copy of ``os.environ`` when it starts the process, so the
    variables are set only around that call (under a lock: steps may share a process).
    """
    values = {
        "ANALYTICS_WAREHOUSE_DIR": str(settings.warehouse_dir),
        "ANALYTICS_STATE_DIR": str(settings.state_dir),
        "ANALYTICS_DUCKDB_MEMORY_LIMIT": settings.duckdb_memory_limit,
        # A test runs only when all the models it reads are selected: a subset run (say, the marts
        # above one new raw table) must not run reconciliation tests against marts it left as
        # they were. dagster-dbt overrides this when it selects specific checks; relationships
        # tests are selected explicitly (assets.relationships_test_selection).
        "DBT_INDIRECT_SELECTION": "cautious",
        # dbt dies with this process (dbt_plugin.die_with_parent): a killed run leaves no dbt behind.
        DBT_PARENT_PID_VARIABLE: str(os.getpid()),
        # Named to an engineer's dbt that waits for this one (dbt_plugin.take_writer_lock).
        DBT_RUN_ID_VARIABLE: run_id or "",
        LOADED_AFTER_VARIABLE: tests_loaded_after,
    }
    with _ENV_LOCK, environment(values):
        yield


def _kept_partial_parse(settings: Settings) -> Path:
    return settings.state_dir / "dbt" / PARTIAL_PARSE


def run_target_path(settings: Settings, name: str) -> Path:
    """A fresh dbt target folder for one invocation under ``<state_dir>/dbt/runs`` (logs, compiled
    SQL, run_results), keeping only the newest few: the project folder stays clean, and a test's
    temp state takes its artifacts with it. It starts with this warehouse's kept parse, if any
    (dagster-dbt then leaves it alone instead of copying the project's)."""
    root = settings.state_dir / "dbt" / "runs"
    root.mkdir(parents=True, exist_ok=True)
    previous = sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
    for old in previous[: max(0, len(previous) - KEPT_RUN_TARGETS + 1)]:
        shutil.rmtree(old, ignore_errors=True)
    target = root / f"{name}-{uuid.uuid4().hex[:8]}"
    kept = _kept_partial_parse(settings)
    if kept.exists():
        target.mkdir()
        shutil.copyfile(kept, target / PARTIAL_PARSE)
    return target


def keep_partial_parse(settings: Settings, target: Path) -> None:
    """Keep the parse a finished invocation wrote (see the module docstring); atomic, since runs
    against one warehouse may finish at the same time."""
    written = target / PARTIAL_PARSE
    if not written.exists():
        return
    with replaced_atomically(_kept_partial_parse(settings)) as partial:
        shutil.copyfile(written, partial)


class AnalyticsDbtCliResource(DbtCliResource):
    """``DbtCliResource`` without two fixed costs per invocation (see the module docstring).

    Both override private members of dagster-dbt 0.29 (pinned in ``requirements.lock``);
    ``tests/transform/test_dbt_overhead.py`` fails if an upgrade renames them.
    """

    @cached_property
    def _cli_version(self) -> version.Version:
        if Path(self.dbt_executable) == Path(sys.executable).parent / "dbt":
            return version.parse(importlib.metadata.version("dbt-core"))
        return super()._cli_version  # another environment's dbt: ask it

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> Any:
        return None  # only used to fetch row counts / column metadata; dbt's events suffice


def dbt_resource() -> DbtCliResource:
    """The resource the dbt assets use (key ``dbt``); the warehouse comes from ``warehouse``."""
    return AnalyticsDbtCliResource(project_dir=DBT_PROJECT, dbt_executable=dbt_executable())
