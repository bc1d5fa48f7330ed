"""The warehouse's SQLite catalog is kept in WAL mode (why: ``warehouse.ensure_wal``; the reader
under a committing writer is exercised in tests/faults/test_concurrency.py)."""

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from analytics_platform import warehouse
from analytics_platform.defs.transform.project import DBT_PROJECT, dbt_environment
from analytics_platform.resources import WarehouseResource


def journal_mode(path) -> str:
    return sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]


def test_a_new_warehouse_has_its_catalog_in_wal_mode(tmp_path):
    settings = WarehouseResource(state_dir=str(tmp_path / "state")).settings
    con = warehouse.connect(settings)
    con.execute("CREATE SCHEMA IF NOT EXISTS marts; CREATE TABLE marts.t AS SELECT range AS i FROM range(10)")
    assert journal_mode(settings.catalog_path) == "wal"
    assert con.execute("SELECT count(*) FROM marts.t").fetchone()[0] == 10


def test_an_existing_catalog_is_switched_to_wal(tmp_path):
    catalog = tmp_path / "catalog.sqlite"
    sqlite3.connect(catalog).execute("CREATE TABLE x (a INT)").connection.commit()
    assert journal_mode(catalog) == "delete"
    warehouse.ensure_wal(catalog)
    assert journal_mode(catalog) == "wal"


def dbt_show(settings, sql: str, tmp_path: Path) -> str:
    """``dbt show --inline`` through the project's profile, on the warehouse of ``settings``."""
    with dbt_environment(settings):
        shown = subprocess.run(
            [str(Path(sys.executable).with_name("dbt")), "show", "--inline", sql,
             "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs")],
            cwd=DBT_PROJECT.project_dir, capture_output=True, text=True, timeout=300)
    assert shown.returncode == 0, shown.stdout[-2000:]
    return shown.stdout


def test_a_moved_warehouse_keeps_working(tmp_path):
    """The catalog records the absolute data path it was created with; a renamed project folder
    (or a copied state) must still read its data and write next to it, not into the old place."""
    old = WarehouseResource(state_dir=str(tmp_path / "old")).settings
    con = warehouse.connect(old)
    con.execute("CREATE SCHEMA IF NOT EXISTS marts; CREATE TABLE marts.t AS SELECT range AS i FROM range(10)")
    con.close()
    shutil.move(tmp_path / "old", tmp_path / "new")
    new = WarehouseResource(state_dir=str(tmp_path / "new")).settings
    con = warehouse.connect(new)
    con.execute("INSERT INTO marts.t SELECT 10")
    assert con.execute("SELECT count(*), max(i) FROM marts.t").fetchone() == (11, 10)
    assert not (tmp_path / "old").exists()
    assert "| 11 |" in dbt_show(new, "select count(*) as n from lake.marts.t", tmp_path)


def test_one_memory_limit_for_the_platform_and_dbt(tmp_path, monkeypatch):
    """ANALYTICS_DUCKDB_MEMORY_LIMIT bounds the platform's DuckDB and dbt's (the dbt plugin sets it)."""
    monkeypatch.setenv("ANALYTICS_DUCKDB_MEMORY_LIMIT", "300MB")
    settings = WarehouseResource(state_dir=str(tmp_path / "state")).settings
    con = warehouse.connect(settings)
    assert con.execute("SELECT current_setting('memory_limit')").fetchone()[0] == "286.1 MiB"
    assert "286.1 MiB" in dbt_show(settings, "select current_setting('memory_limit') as memory_limit", tmp_path)
