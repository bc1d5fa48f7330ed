"""Child processes of the fault tests: waiting for them, reading their output, killing them
with everything they started, and judging that output (run summaries, surfaced lock errors).
Children are started with ``TempPlatform.spawn`` (tests/faults/temp_platform.py)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from analytics_platform.settings import PROJECT_ROOT

if TYPE_CHECKING:
    from tests.faults.temp_platform import TempPlatform

DBT_PROJECT = PROJECT_ROOT / "dbt_project"
VENV_BIN = Path(sys.executable).parent
# What a lock problem looks like, from DuckDB's own file lock, SQLite's catalog lock, DuckLake's
# commit conflicts (after its retries ran out) or dbt-duckdb.
LOCK_ERRORS = re.compile(
    r"database is locked|Could not set lock on file|Conflicting lock is held|Failed to commit|write-write conflict|"
    r"TransactionContext Error|database table is locked",
    re.IGNORECASE,
)


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


def dbt_cmd(command: str, target_path: Path, *extra: str) -> list[str]:
    """A dbt command on the project, its artefacts in ``target_path``. Builds leave out data and
    unit tests: they judge the SQL and the data (the dbt suite's job), while these tests judge what
    the warehouse holds after a fault; a failing data test would also skip downstream models."""
    if command == "build" and "--select" not in extra:
        extra = ("--exclude-resource-type", "test", "--exclude-resource-type", "unit_test", *extra)
    return [str(VENV_BIN / "dbt"), command, "--profiles-dir", str(DBT_PROJECT), "--project-dir", str(DBT_PROJECT),
            "--target-path", str(target_path), "--log-path", str(target_path / "logs"), *extra]
