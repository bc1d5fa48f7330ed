"""What keeps a dbt step's fixed cost down (see ``defs/transform/project.py``): no ``dbt --version``
subprocess, no in-process adapter, the installed parse reused on every warehouse, and a kept parse
per warehouse."""

from __future__ import annotations

import importlib.metadata
import subprocess
from pathlib import Path

import pytest
from dagster_dbt import DbtCliResource

from analytics_platform.defs.transform import project
from analytics_platform.settings import load_settings


def test_overridden_members_still_exist_in_dagster_dbt():
    # private members of dagster-dbt: an upgrade that renames them must fail here, not silently
    # bring back seconds per run
    assert "_cli_version" in vars(DbtCliResource)
    assert "_initialize_dbt_core_adapter" in vars(DbtCliResource)


def test_resource_knows_dbt_version_without_a_subprocess(monkeypatch: pytest.MonkeyPatch):
    def no_subprocess(*args, **kwargs):
        raise AssertionError(f"unexpected subprocess: {args}")

    monkeypatch.setattr(subprocess, "check_output", no_subprocess)
    resource = project.dbt_resource()
    assert str(resource._cli_version) == importlib.metadata.version("dbt-core")
    assert resource._initialize_dbt_core_adapter(["build"]) is None


def test_run_target_starts_from_the_warehouses_kept_parse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ANALYTICS_STATE_DIR", str(tmp_path))
    settings = load_settings()
    first = project.run_target_path(settings, "first")
    assert not (first / project.PARTIAL_PARSE).exists()  # nothing kept yet: dagster-dbt's copy applies

    first.mkdir(parents=True)
    (first / project.PARTIAL_PARSE).write_bytes(b"parse of run 1")
    project.keep_partial_parse(settings, first)
    second = project.run_target_path(settings, "second")
    assert (second / project.PARTIAL_PARSE).read_bytes() == b"parse of run 1"

    project.keep_partial_parse(settings, tmp_path / "missing")  # a run that never parsed: no-op
    assert (tmp_path / "dbt" / project.PARTIAL_PARSE).read_bytes() == b"parse of run 1"


def test_dbt_environment_passes_the_state_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import os

    monkeypatch.setenv("ANALYTICS_STATE_DIR", str(tmp_path))
    settings = load_settings()
    monkeypatch.delenv("ANALYTICS_STATE_DIR")
    with project.dbt_environment(settings):
        # the dbt plugin puts DuckDB's temp_directory under it
        assert os.environ["ANALYTICS_STATE_DIR"] == str(tmp_path)
    assert "ANALYTICS_STATE_DIR" not in os.environ


def test_a_new_warehouse_reuses_the_installed_parse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The profile names no per-warehouse value (the plugin sets DuckDB's memory limit and spill
    folder), so dbt's profile hash, part of its partial-parse check, is the same everywhere: the
    first run on a new warehouse starts from the parse prepared at install, not a full parse."""
    project.ensure_manifest()
    monkeypatch.setenv("ANALYTICS_STATE_DIR", str(tmp_path / "state"))
    settings = load_settings()
    target = project.run_target_path(settings, "first")
    with project.dbt_environment(settings):
        project.dbt_resource().cli(["ls", "--select", "fct_orders"], target_path=target).wait()
    log = (target / "dbt.log").read_text()
    assert "Unable to do partial parsing" not in log, log[-3000:]


def test_dbt_loads_the_offline_extensions_unverified_and_downloads_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """dbt's DuckDB takes its extensions from the pinned wheels without hashing each file again
    (the signature check cost every dbt start 0.43 s, ``dbt_plugin.py``), and autoinstall is off:
    with unsigned extensions allowed, nothing may come from the network."""
    import duckdb

    from analytics_platform import dbt_plugin, warehouse

    monkeypatch.setenv("ANALYTICS_STATE_DIR", str(tmp_path))
    monkeypatch.delenv("ANALYTICS_DBT_PARENT_PID", raising=False)
    monkeypatch.setattr(dbt_plugin, "_command", lambda: "parse")  # a read-only command: no writer lock
    config: dict = {}
    dbt_plugin.Plugin.update_connection_config(object.__new__(dbt_plugin.Plugin), None, config)
    con = duckdb.connect(":memory:", config=config)
    settings = load_settings()
    warehouse.prepare(con, settings)  # what configure_connection loads
    loaded = {name for name, is_loaded in con.execute("SELECT extension_name, loaded FROM duckdb_extensions()").fetchall() if is_loaded}
    assert {"ducklake", "sqlite_scanner"} <= loaded
    assert con.execute("SELECT current_setting('allow_unsigned_extensions'), current_setting('autoinstall_known_extensions')").fetchone() == (True, False)
