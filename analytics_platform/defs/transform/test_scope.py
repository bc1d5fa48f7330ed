"""Which rows the dbt tests of a run read: every row, or only the rows loaded since the full suite
last passed.

A run of a subset of the models (what the landing sensor and the automation sensor start after a
load) runs its row-level tests only on the rows loaded after the start of the last passing full
suite (``dbt_project/macros/tests/new_rows.sql`` adds ``_loaded_at > <cutoff>`` to them): rows
loaded since are tested in every run until the next full suite, so a bad row fails its test in
the run that loads it, and a day's run no longer scans whole tables.

Every test reads every row when

- the run builds every model (the ``dbt_build`` job: daily schedule, weekly full refresh, or
  ``python -m analytics_platform materialize``): the *full suite*; when it succeeds (no
  blocking test failed) it records its start and the project it tested in
  ``<state_dir>/dbt/full_tests.json``;
- nothing is recorded, or the dbt project (models, tests, macros, sources from the contracts)
  changed since: any run then tests its models in full, and the ``dbt_full_suite_after_change``
  sensor starts the full suite.

The cutoff is the start of that dbt invocation: a raw row committed before it was visible to the
full suite, and later commits carry a later ``_loaded_at`` because the platform's writers take
turns (the same reason the incremental models' exact watermark is safe: ``dbt_project.yml``).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from analytics_platform.files import write_atomically
from analytics_platform.settings import Settings

LOADED_AFTER_VARIABLE = "ANALYTICS_TESTS_LOADED_AFTER"  # read by macros/tests/new_rows.sql
_VOLATILE = {"created_at"}  # set by each parse, not by the project


def project_hash(manifest: Mapping[str, Any]) -> str:
    """What the tests' results depend on in the project: its nodes (models, tests, seeds,
    snapshots: SQL, config, columns), its sources (written from the contracts) and its macros."""
    def stable(items: Mapping[str, Any]) -> dict[str, Any]:
        return {key: {k: v for k, v in node.items() if k not in _VOLATILE} for key, node in items.items()}

    root = manifest.get("metadata", {}).get("project_name")
    macros = {k: m for k, m in manifest.get("macros", {}).items() if m.get("package_name") == root}
    blob = json.dumps([stable(manifest["nodes"]), stable(manifest.get("sources", {})), stable(macros)], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


@functools.lru_cache(maxsize=4)
def _hash_of_file(path: Path, mtime_ns: int) -> str:
    return project_hash(json.loads(path.read_text()))


def manifest_hash(manifest: Path) -> str:
    """``project_hash`` of a manifest file (computed once per version of the file)."""
    return _hash_of_file(manifest, manifest.stat().st_mtime_ns)


def _record(settings: Settings) -> Path:
    return settings.state_dir / "dbt" / "full_tests.json"


def last_full_suite(settings: Settings) -> dict[str, str] | None:
    try:
        record = json.loads(_record(settings).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def loaded_after(settings: Settings, project: str, full_suite: bool) -> str:
    """The cutoff for this run's tests (``LOADED_AFTER_VARIABLE``), or ``""``: every row."""
    record = last_full_suite(settings)
    if full_suite or record is None or record.get("project") != project:
        return ""
    # validated: it becomes SQL text in the test (new_rows.sql)
    return dt.datetime.fromisoformat(record["started"]).isoformat(sep=" ")


def record_full_suite(settings: Settings, project: str, started: dt.datetime) -> None:
    """The full suite started at ``started`` (UTC) passed on ``project``."""
    record = {"project": project, "started": started.replace(tzinfo=None).isoformat(sep=" ")}
    write_atomically(_record(settings), json.dumps(record))


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)
