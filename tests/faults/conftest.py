"""Fixtures of the fault and scale suite: one small sample dataset per session, temp platforms."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from tests.faults import processes
from tests.faults.temp_platform import TempPlatform, copy_landing, file_day

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


@pytest.fixture(scope="session")
def built_platform(sample_landing: Path, tmp_path_factory: pytest.TempPathFactory, dbt_target: Path) -> TempPlatform:
    """The whole sample in landing, all but its last ten days ingested and a clean ``dbt build``
    on them: a warehouse with marts and incremental models, built once. Tests work on a
    ``clone()``; the ten days still in landing are new data for them."""
    platform = TempPlatform(tmp_path_factory.mktemp("built") / "platform")
    landed = copy_landing(sample_landing, platform.landing)
    days = sorted({file_day(r) for r in landed if file_day(r)})
    late = set(days[-10:])
    code, out = platform.ingest_here(files=[r for r in landed if file_day(r) not in late])
    assert code == 0, out[-3000:]
    code, out = processes.finish(platform.spawn(processes.dbt_cmd("build", dbt_target), cwd=processes.DBT_PROJECT, log_name="dbt_first"), 240)
    assert code == 0, f"a clean dbt build fails (dbt-layer bug, not a fault):\n{out[-4000:]}"
    return platform
