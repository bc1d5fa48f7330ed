"""Fixtures of the fault and scale suite: one small sample dataset per session, temp platforms."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from tests.faults.helpers import TempPlatform

# Small enough for CI (a few seconds per ingestion), large enough that a run has many commits
# and a kill can land in the middle: ~330 files, 10 tables, ~2.7 MB.
SAMPLE_SCALE = "0.05"
SAMPLE_DAYS = "40"


@pytest.fixture(scope="session")
def sample_landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from analytics_platform.sample_data.cli import main as generate

    out = tmp_path_factory.mktemp("sample") / "landing"
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert generate(["--scale", SAMPLE_SCALE, "--days", SAMPLE_DAYS, "--out", str(out)]) == 0
    return out


@pytest.fixture
def temp_platform(tmp_path: Path) -> TempPlatform:
    return TempPlatform(tmp_path / "platform")


@pytest.fixture(scope="session")
def dbt_target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """dbt's target folder for this session: never the project's dbt_project/target."""
    return tmp_path_factory.mktemp("dbt_target")
