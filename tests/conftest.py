"""Shared fixtures (every test gets its own landing folder and warehouse in a temp dir; the
generated sample shop is made once per session) and the test lanes.

Lanes: ``python3 -m analytics_platform test`` runs everything (CI); ``test --fast`` runs
``-m "not slow and not browser"``, the edit-test loop. Which tests are ``slow`` is decided here,
once, by what they need (a folder, or a fixture anywhere in their fixture closure), so a new test
that uses a whole-platform fixture is left out of the fast lane without a marker of its own.
``browser`` is set by tests/ui/conftest.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from analytics_platform.resources import WarehouseResource
from analytics_platform.sample_data import ShopData, generate

TESTS = Path(__file__).resolve().parent

# Folders whose every test needs the whole platform.
SLOW_FOLDERS = {
    TESTS / "faults": "kills, bursts, disk and schema faults against real platform processes and dbt builds",
    TESTS / "ui": "a real dagster-webserver + daemon, or dashboards, in chromium",
    TESTS / "shared": "the shared mode against real PostgreSQL + SeaweedFS servers (dbt builds, writer processes)",
}
# Fixtures that build the platform's warehouse end to end, or cost half a minute or more on this 2-core machine.
SLOW_FIXTURES = {
    "built": "ingests a generated shop and runs dbt build (tests/transform, tests/ml/test_assets.py)",
    "trained": "trains the churn model, hyper-parameter search included, on the scale-1 shop (tests/ml)",
}
# Single tests that start dbt in a child process (a dbt start costs ~10 s here).
SLOW_TESTS = {
    "tests/test_warehouse.py::test_a_moved_warehouse_keeps_working": "runs `dbt show`",
    "tests/test_warehouse.py::test_one_memory_limit_for_the_platform_and_dbt": "runs `dbt show`",
    "tests/transform/test_dbt_overhead.py::test_a_new_warehouse_reuses_the_installed_parse": "runs `dbt ls`",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(str(item.fspath))
        if (any(path.is_relative_to(folder) for folder in SLOW_FOLDERS)
                or SLOW_FIXTURES.keys() & set(getattr(item, "fixturenames", ()))
                or item.nodeid.split("[")[0] in SLOW_TESTS):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def sample_shop() -> ShopData:
    """The shop `python3 -m analytics_platform up` lands (the generator's defaults: seed 42, scale 1,
    120 days), generated once per session for every test that reads it."""
    return generate(seed=42, scale=1.0, days=120)


@dataclass
class Platform:
    root: Path
    warehouse: WarehouseResource

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def settings(self):
        return self.warehouse.settings

    def ingest(self, instance: dg.DagsterInstance | None = None, files: list[str] | None = None) -> dg.ExecuteInProcessResult:
        from analytics_platform.defs.ingestion.assets import raw_tables

        config = {"settle_seconds": 0.0, **({"files": files} if files else {})}
        return dg.materialize(
            [raw_tables],
            resources={"warehouse": self.warehouse},
            instance=instance,
            run_config={"ops": {"raw_tables": {"config": config}}},
            raise_on_error=False,
        )

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        with self.warehouse.connect(read_only=True) as con:
            return con.execute(sql, params or []).fetchall()


@pytest.fixture
def platform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Platform:
    (tmp_path / "landing").mkdir()
    monkeypatch.setenv("ANALYTICS_WAREHOUSE_DIR", str(tmp_path / "state" / "warehouse"))
    return Platform(tmp_path, WarehouseResource(state_dir=str(tmp_path / "state"), landing_dir=str(tmp_path / "landing")))
