"""Where profiles live: files under ``<reports>/profiles/``, nothing in the warehouse.

``<dataset>.json`` is the current profile (the JSON the dashboard and the contract are rendered
from) and ``<dataset>.model.json`` the current model analysis (``defs/reports/dataset_models``),
each written with ``files.write_atomically``: a reader sees the previous file or the new one,
never half of one. Keeping them out of the lake is what lets profiling run beside the warehouse's
writers: a profile reads on a read-only connection and writes no DuckLake commit, so it needs no
slot of the ``warehouse`` pool, and two datasets profile side by side (each has its own file).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from analytics_platform.files import write_atomically
from analytics_platform.settings import Settings


def profiles_dir(settings: Settings) -> Path:
    return settings.reports_dir / "profiles"


def file_stem(dataset: str) -> str:
    """Dataset names are already safe ([a-z0-9_]); this only guards paths against anything else."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", dataset).lstrip(".") or "dataset"


def artifact_path(settings: Settings, dataset: str, suffix: str) -> Path:
    return profiles_dir(settings) / f"{file_stem(dataset)}{suffix}"


PROFILE = ".json"
MODEL = ".model.json"


def save(settings: Settings, profile: dict[str, Any], run_id: str, suffix: str = PROFILE) -> Path:
    """Replace the dataset's stored profile (or, with ``suffix=MODEL``, model analysis) atomically; returns the file's path."""
    text = json.dumps({**profile, "run_id": run_id}, indent=1, allow_nan=False, default=str)
    return write_atomically(artifact_path(settings, profile["dataset"], suffix), text)


def load(settings: Settings, dataset: str, suffix: str = PROFILE) -> dict[str, Any] | None:
    """The dataset's stored profile (or model analysis), or None when there is none yet."""
    try:
        text = artifact_path(settings, dataset, suffix).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    return json.loads(text)
