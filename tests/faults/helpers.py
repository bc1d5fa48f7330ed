"""Shared machinery of the fault tests: temp platforms, child processes, warehouse invariants."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from analytics_platform import warehouse
from analytics_platform.defs.ingestion.contracts import load_contracts
from analytics_platform.settings import PROJECT_ROOT, Settings

DBT_PROJECT = PROJECT_ROOT / "dbt_project"
VENV_BIN = Path(sys.executable).parent
# What a lock problem looks like, from DuckDB's own file lock, SQLite's catalog lock, DuckLake's
# commit conflicts (after its retries ran out) or dbt-duckdb.
LOCK_ERRORS = re.compile(
    r"database is locked|Could not set lock on file|Conflicting lock is held|Failed to commit|write-write conflict|"
    r"TransactionContext Error|database table is locked",
    re.IGNORECASE,
)


def file_day(relative: str) -> str | None:
    """The day a sample file holds (``web/events/events_2026-01-05.csv`` → ``2026-01-05``)."""
    day = Path(relative).stem.rsplit("_", 1)[-1]
    return day if day[:2] == "20" else None


def dbt_models_exist() -> bool:
    return any((DBT_PROJECT / "models").rglob("*.sql")) and (VENV_BIN / "dbt").exists()


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
            PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
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
        return finish(proc, timeout)

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


def output_of(proc: subprocess.Popen) -> str:
    proc.log.flush()  # type: ignore[attr-defined]
    return Path(proc.log.name).read_text(errors="replace")  # type: ignore[attr-defined]


def finish(proc: subprocess.Popen, timeout: float) -> tuple[int, str]:
    """Wait for a child; a child still running after ``timeout`` is a hang: killed, and the test fails."""
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        raise AssertionError(f"process hung for more than {timeout:.0f} s: {proc.args}\n{output_of(proc)[-4000:]}") from None
    text = output_of(proc)
    proc.log.close()  # type: ignore[attr-defined]
    return code, text


def kill_group(proc: subprocess.Popen) -> None:
    """kill -9 of the child and everything it started (a crashed container, an OOM kill)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=30)


def wait_for_line(proc: subprocess.Popen, needle: str, timeout: float, count: int = 1) -> bool:
    """Block until ``needle`` occurs ``count`` times in the child's output (False if it exited first)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if output_of(proc).count(needle) >= count:
            return True
        if proc.poll() is not None:
            return output_of(proc).count(needle) >= count
        time.sleep(0.005)
    raise AssertionError(f"{needle!r} not seen within {timeout} s:\n{output_of(proc)[-3000:]}")


def surviving_processes(platform: TempPlatform) -> list[str]:
    """Processes still running against this platform's warehouse (e.g. a dbt child orphaned by a kill)."""
    found = []
    marker = f"ANALYTICS_WAREHOUSE_DIR={platform.state / 'warehouse'}".encode()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if marker in (proc / "environ").read_bytes().split(b"\0") and (proc / "stat").read_text().split()[2] != "Z":
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                found.append(f"{proc.name}: {cmdline[:200]}")
        except OSError:
            continue
    return found


def summary_of(text: str) -> dict:
    lines = [line for line in text.splitlines() if line.startswith("SUMMARY ")]
    assert lines, f"the run printed no summary:\n{text[-4000:]}"
    return json.loads(lines[-1][len("SUMMARY "):])


# A conflict the platform handled: warehouse.with_retry's warning. The error it quotes may span
# lines (DuckLake: "Failed to commit DuckLake transaction.\nFailed to flush changes into DuckLake:
# database is locked"), so the whole warning, up to "); retry N in Xs", is one match.
HANDLED_RETRY = re.compile(r"lost a commit race \(.*?\); retry \d+ in [\d.]+s", re.DOTALL)


def lock_errors(text: str) -> list[str]:
    """Lines reporting a lock or commit conflict that was *surfaced* (not a retry warning that
    the platform handled: those say 'lost a commit race (...); retry N in Xs')."""
    return [line for line in HANDLED_RETRY.sub("", text).splitlines() if LOCK_ERRORS.search(line)]


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


# --- invariants --------------------------------------------------------------------------------


def table_fingerprints(platform: TempPlatform) -> dict[str, tuple[int, int]]:
    """Per raw table: (rows, order-independent checksum of all values except the load time)."""
    out = {}
    with platform.connect() as con:
        for c in load_contracts():
            rows, checksum = con.execute(
                f"SELECT count(*), coalesce(sum(hash(t)), 0)::HUGEINT FROM (SELECT * EXCLUDE (_loaded_at) FROM {c.qualified_table}) t"
            ).fetchone()
            out[c.name] = (int(rows), int(checksum))
    return out


def exactly_once_violations(platform: TempPlatform) -> list[str]:
    """Every current ledger entry's rows are in its table exactly once, nothing else is, and no
    content hash is loaded twice: the loader's exactly-once promise, checked from the warehouse."""
    problems = []
    with platform.connect() as con:
        dupes = con.execute(
            "SELECT file_hash, count(*) FROM meta.ingest_ledger WHERE status = 'loaded' GROUP BY ALL HAVING count(*) > 1"
        ).fetchall()
        problems += [f"file hash {h[:12]} has {n} 'loaded' ledger rows" for h, n in dupes]
        names = con.execute(
            "SELECT source_file, count(*) FROM meta.ingest_ledger WHERE status = 'loaded' GROUP BY ALL HAVING count(*) > 1"
        ).fetchall()
        problems += [f"{f} has {n} current versions" for f, n in names]
        for c in load_contracts():
            rows = con.execute(
                f"""
                WITH ledger AS (
                    SELECT file_hash, any_value(source_file) AS source_file, sum(rows_in_file) AS expected
                    FROM meta.ingest_ledger WHERE status = 'loaded' AND target_table = ? GROUP BY ALL
                ), loaded AS (SELECT _file_hash, count(*) AS n FROM {c.qualified_table} GROUP BY ALL)
                SELECT coalesce(l.source_file, '(no ledger row) ' || t._file_hash), coalesce(l.expected, 0), coalesce(t.n, 0)
                FROM ledger l FULL OUTER JOIN loaded t ON t._file_hash = l.file_hash
                WHERE coalesce(l.expected, 0) <> coalesce(t.n, 0)
                """,
                [c.qualified_table],
            ).fetchall()
            problems += [f"{c.name}: {f}: ledger says {e} rows, table holds {n}" for f, e, n in rows]
    return problems


def reconciliation_results(platform: TempPlatform) -> dict[str, bool]:
    """The platform's own row_reconciliation check, per raw table, on the committed warehouse."""
    from analytics_platform.defs.ingestion.checks import run_table_checks

    with platform.connect() as con:
        return {c.name: next(run_table_checks(con, c, {"row_reconciliation"})).passed for c in load_contracts()}


def ledger_files(platform: TempPlatform) -> dict[str, int]:
    return dict(platform.query("SELECT source_file, rows_in_file FROM meta.ingest_ledger WHERE status = 'loaded'"))


def quarantined(platform: TempPlatform) -> dict[str, str]:
    return dict(platform.query("SELECT source_file, reason_code FROM meta.quarantine"))


def dbt_cmd(command: str, target_path: Path, *extra: str) -> list[str]:
    """A dbt command on the project, its artefacts in ``target_path``. Builds leave out data and
    unit tests: they judge the SQL and the data (the dbt suite's job), while these tests judge what
    the warehouse holds after a fault; a failing data test would also skip downstream models."""
    if command == "build" and "--select" not in extra:
        extra = ("--exclude-resource-type", "test", "--exclude-resource-type", "unit_test", *extra)
    return [str(VENV_BIN / "dbt"), command, "--profiles-dir", str(DBT_PROJECT), "--project-dir", str(DBT_PROJECT),
            "--target-path", str(target_path), "--log-path", str(target_path / "logs"), *extra]


def mart_tables(platform: TempPlatform) -> list[str]:
    return [f"{s}.{t}" for s, t in platform.query(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name NOT IN ('raw', 'meta', 'uncontracted') AND table_name NOT LIKE '%__dbt_%' ORDER BY ALL")]


def relation_fingerprints(platform: TempPlatform, relations: list[str], exclude: tuple[str, ...] = ()) -> dict[str, tuple[int, int]]:
    """(rows, checksum) per relation, leaving out columns whose values depend on the run time."""
    out = {}
    with platform.connect() as con:
        for rel in relations:
            schema, table = rel.split(".", 1)
            cols = con.execute(
                "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = current_database() "
                "AND schema_name = ? AND table_name = ? ORDER BY column_index",
                [schema, table]).fetchall()
            # Floating-point sums depend on the order parallel threads add them up: round them.
            select = ", ".join(
                f'round("{c}", 6)' if t in ("DOUBLE", "FLOAT", "REAL") else f'"{c}"'
                for c, t in cols if not any(re.search(p, c) for p in exclude)
            ) or "1"
            rows, checksum = con.execute(f'SELECT count(*), coalesce(sum(hash(t)), 0)::HUGEINT FROM (SELECT {select} FROM "{schema}"."{table}") t').fetchone()
            out[rel] = (int(rows), int(checksum))
    return out
