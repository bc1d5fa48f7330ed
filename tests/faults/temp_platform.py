"""The temp platform of the fault tests: a landing folder and a state folder (warehouse,
quarantine) under one temp root, how to start platform processes against it, and sample files
copied into its landing folder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from analytics_platform import warehouse
from analytics_platform.settings import PROJECT_ROOT, Settings
from tests.faults import processes


def file_day(relative: str) -> str | None:
    """The day a sample file holds (``web/events/events_2026-01-05.csv`` → ``2026-01-05``)."""
    day = Path(relative).stem.rsplit("_", 1)[-1]
    return day if day[:2] == "20" else None


def copy_landing(source: Path, destination: Path, only: list[str] | None = None) -> list[str]:
    """Copy sample files (relative paths) into a landing folder; returns what was copied."""
    copied = []
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source).as_posix()
        if not path.is_file() or rel.startswith("_") or (only is not None and rel not in only):
            continue
        target = destination / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
        copied.append(rel)
    return copied


@dataclass
class TempPlatform:
    """A landing folder and a state folder (warehouse, quarantine) under one temp root."""

    root: Path
    landing: Path = field(init=False)
    state: Path = field(init=False)

    def __post_init__(self) -> None:
        self.landing = self.root / "landing"
        self.state = self.root / "state"
        self.landing.mkdir(parents=True, exist_ok=True)
        self.state.mkdir(parents=True, exist_ok=True)

    @property
    def settings(self) -> Settings:
        from analytics_platform.resources import WarehouseResource

        return WarehouseResource(state_dir=str(self.state), landing_dir=str(self.landing)).settings

    def env(self) -> dict[str, str]:
        """Environment of a child process: every platform path inside this temp root."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ANALYTICS_", "DAGSTER_"))}
        env.update(
            ANALYTICS_STATE_DIR=str(self.state),
            ANALYTICS_WAREHOUSE_DIR=str(self.state / "warehouse"),
            ANALYTICS_LANDING_DIR=str(self.landing),
            DAGSTER_HOME=str(self.root / "dagster_home"),
            PYTHONUNBUFFERED="1",
            PYTHONPATH=os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")])),
            PATH=f"{processes.VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
        )
        (self.root / "dagster_home").mkdir(exist_ok=True)
        return env

    def ingest_cmd(self, files: list[str] | None = None, tables: list[str] | None = None) -> list[str]:
        cmd = [sys.executable, "-m", "tests.faults.driver", "ingest", "--state", str(self.state), "--landing", str(self.landing)]
        if files is not None:
            listing = self.root / f"files_{time.monotonic_ns()}.json"
            listing.write_text(json.dumps(files))
            cmd += ["--files-from", str(listing)]
        if tables:
            cmd += ["--tables", ",".join(tables)]
        return cmd

    def spawn(self, cmd: list[str], cwd: Path = PROJECT_ROOT, log_name: str = "child",
              preexec_fn: Callable[[], None] | None = None) -> subprocess.Popen:
        """Start a child in its own process group, output to a log file (never a full pipe);
        ``preexec_fn`` runs in the child before exec (e.g. to start it with a signal ignored)."""
        log = open(self.root / f"{log_name}_{time.monotonic_ns()}.log", "w+b")  # noqa: SIM115 - closed in finish()
        proc = subprocess.Popen(cmd, cwd=cwd, env=self.env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                preexec_fn=preexec_fn)
        proc.log = log  # type: ignore[attr-defined]
        return proc

    def run_ingest(self, files: list[str] | None = None, tables: list[str] | None = None, timeout: float = 120) -> tuple[int, str]:
        proc = self.spawn(self.ingest_cmd(files, tables), log_name="ingest")
        return processes.finish(proc, timeout)

    def ingest_here(self, files: list[str] | None = None) -> tuple[int, str]:
        """The same run in this process (no interpreter start-up): exit-code-like int, failure text."""
        import dagster as dg

        from analytics_platform.defs.ingestion.assets import raw_tables
        from analytics_platform.resources import WarehouseResource

        config = {"settle_seconds": 0.0, **({"files": files} if files is not None else {})}
        result = dg.materialize(
            [raw_tables],
            resources={"warehouse": WarehouseResource(state_dir=str(self.state), landing_dir=str(self.landing))},
            run_config={"ops": {"raw_tables": {"config": config}}},
            raise_on_error=False,
        )
        failures = [
            e.event_specific_data.error.to_string() if e.event_specific_data and e.event_specific_data.error else str(e.message)
            for e in result.all_events
            if e.event_type_value == "STEP_FAILURE"
        ]
        return (0 if result.success else 1), "\n".join(failures)

    def ingest_with_loader(self) -> tuple[int, str]:
        """``loader.ingest`` on every landed file, in this process: (0 | 1, error text)."""
        import traceback

        from analytics_platform.defs.ingestion.contracts import load_contracts
        from analytics_platform.defs.ingestion.files import scan_landing
        from analytics_platform.defs.ingestion.loader import ingest

        settings = self.settings
        try:
            with warehouse.session(settings) as con:
                ingest(con, scan_landing(settings.landing_dir, 0.0), load_contracts(), settings.quarantine_dir,
                       "fault-test", log=lambda _: None)
        except Exception:  # noqa: BLE001 - the caller asserts on the error text
            return 1, traceback.format_exc()
        return 0, ""

    def clone(self, root: Path) -> TempPlatform:
        """An independent copy of this platform (landing and state) under ``root``: a loaded
        warehouse is set up once and copied per test."""
        shutil.copytree(self.root, root, ignore=shutil.ignore_patterns("dagster_home", "*.log", "files_*.json"))
        return TempPlatform(root)

    def connect(self, read_only: bool = True) -> duckdb.DuckDBPyConnection:
        return warehouse.connect(self.settings, read_only=read_only)

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        with self.connect() as con:
            return con.execute(sql, params or []).fetchall()
