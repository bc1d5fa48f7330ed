"""Generated shop data → raw tables, reconciled row for row with what the generator wrote."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from analytics_platform.resources import WarehouseResource
from analytics_platform.sample_data import generate, write_landing

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    data = generate(seed=7, scale=0.05, days=21)
    landing = tmp_path_factory.mktemp("shop") / "landing"
    write_landing(data, landing)
    return data, landing


def test_every_generated_row_lands_exactly_once(shop, platform):
    data, landing = shop
    platform.warehouse = WarehouseResource(state_dir=platform.warehouse.state_dir, landing_dir=str(landing))
    result = platform.ingest()
    assert result.success
    truth = json.loads((landing / "_ground_truth.json").read_text())
    for name, frame in data.tables.items():
        table = name.replace(".", "__")
        (loaded,) = platform.query(f"SELECT count(*) FROM raw.{table}")[0]
        assert loaded == frame.height == truth["row_counts"][name], name
    # no file quarantined, every file in the ledger, every check of reconciliation green
    assert platform.query("SELECT count(*) FROM meta.quarantine") == [(0,)]
    files_written = sum(1 for p in landing.rglob("*") if p.is_file() and not p.name.startswith("_"))
    assert platform.query("SELECT count(*) FROM meta.ingest_ledger WHERE status = 'loaded'") == [(files_written,)]
    checks = {(e.asset_key.path[-1], e.check_name): e.passed for e in result.get_asset_check_evaluations()}
    assert all(passed for (_, name), passed in checks.items() if name == "row_reconciliation")
    assert all(passed for (_, name), passed in checks.items() if name == "required_columns_not_null")
    # the generator plants exact duplicate events: the WARN check sees them
    assert checks[("web__events", "primary_key_unique")] is False


def test_a_second_run_with_nothing_new_changes_nothing(shop, platform):
    _, landing = shop
    platform.warehouse = WarehouseResource(state_dir=platform.warehouse.state_dir, landing_dir=str(landing))
    platform.ingest()
    before = platform.query("SELECT count(*), sum(rows_loaded) FROM meta.ingest_ledger")
    second = platform.ingest()
    assert second.success and not second.get_asset_materialization_events()
    assert platform.query("SELECT count(*), sum(rows_loaded) FROM meta.ingest_ledger") == before


def test_definitions_load_with_dg_check_defs():
    done = subprocess.run([str(Path(sys.executable).parent / "dg"), "check", "defs"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "All definitions loaded successfully" in done.stdout + done.stderr
