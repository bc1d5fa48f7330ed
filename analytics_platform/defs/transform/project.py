"""The dbt project, its manifest, and how dbt is run against the platform's warehouse.

The manifest (``dbt_project/target/manifest.json``) is built once by :func:`prepare_manifest`
(``dbt parse``): at install time, by ``dagster dev`` (``prepare_if_dev``), or on import when it
is missing or older than a file of the project. Definitions load from it without running dbt,
and every dbt run starts from the prepared parse (dagster-dbt copies ``partial_parse.msgpack``
into the run's target folder) instead of parsing the project again, as long as dbt's profile is
the same (the warehouse path is part of it: runs against another warehouse parse in full).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

from dagster._utils import run_with_concurrent_update_guard
from dagster_dbt import DbtCliResource, DbtProject
from dagster_dbt.dbt_project import using_dagster_dev

from analytics_platform.settings import DBT_PROJECT_DIR, Settings, load_settings

DBT_PROJECT = DbtProject(project_dir=DBT_PROJECT_DIR)
_SOURCES = ("models", "macros", "seeds", "snapshots", "tests")
_ENV_LOCK = threading.Lock()
KEPT_RUN_TARGETS = 20


def _newest_source_mtime() -> float:
    root = DBT_PROJECT.project_dir
    paths = [root / "dbt_project.yml", root / "profiles.yml"]
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
        with dbt_environment(settings or load_settings()):
            dbt_resource().cli(["parse", "--quiet"], target_path=DBT_PROJECT.target_path).wait()

    # one parse at a time when several processes load the definitions at once
    run_with_concurrent_update_guard(DBT_PROJECT.manifest_path, parse)
    return DBT_PROJECT.manifest_path


def ensure_manifest() -> Path:
    """The manifest, prepared first when missing or stale, and on every load under ``dagster dev``
    (what ``DbtProject.prepare_if_dev`` does, with this environment's dbt)."""
    if using_dagster_dev() or not manifest_is_current():
        prepare_manifest()
    return DBT_PROJECT.manifest_path


@contextlib.contextmanager
def dbt_environment(settings: Settings) -> Iterator[None]:
    """Environment of a dbt invocation: ``ANALYTICS_WAREHOUSE_DIR`` = the warehouse of ``settings``,
    and cautious indirect test selection.

    ``DbtCliResource`` hands dbt a copy of ``os.environ`` when it starts the process, so the
    variables are set only around that call (under a lock: steps may share a process).
    """
    values = {
        "ANALYTICS_WAREHOUSE_DIR": str(settings.warehouse_dir),
        # A test runs only when all the models it reads are selected: a subset run (say, the marts
        # above one new raw table) must not run reconciliation tests against marts it left as
        # they were. dagster-dbt overrides this when it selects specific checks.
        "DBT_INDIRECT_SELECTION": "cautious",
    }
    with _ENV_LOCK:
        saved = {key: os.environ.get(key) for key in values}
        os.environ.update(values)
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def run_target_path(settings: Settings, name: str) -> Path:
    """A fresh dbt target folder for one invocation under ``<state_dir>/dbt/runs`` (logs, compiled
    SQL, run_results), keeping only the newest few: the project folder stays clean, and a test's
    temp state takes its artifacts with it."""
    root = settings.state_dir / "dbt" / "runs"
    root.mkdir(parents=True, exist_ok=True)
    previous = sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
    for old in previous[: max(0, len(previous) - KEPT_RUN_TARGETS + 1)]:
        shutil.rmtree(old, ignore_errors=True)
    return root / f"{name}-{uuid.uuid4().hex[:8]}"


def dbt_resource() -> DbtCliResource:
    """The resource the dbt assets use (key ``dbt``); the warehouse comes from ``warehouse``."""
    return DbtCliResource(project_dir=DBT_PROJECT, dbt_executable=dbt_executable())
