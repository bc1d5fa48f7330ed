"""`python3 -m analytics_platform up | test | materialize | generate` — works with only python3 + pip.

This module uses the standard library only: it creates the project's virtualenv (`.venv`) from
`requirements.lock` when missing or out of date, then re-runs the command inside it
(`analytics_platform.cli`), where Dagster, dbt and DuckDB are available. `test` also installs
`requirements-test.lock` (pytest, playwright, ruff, sqlfluff: the `test` extra); the other
commands never need it.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("ANALYTICS_VENV", ROOT / ".venv"))
LOCK = ROOT / "requirements.lock"
TEST_LOCK = ROOT / "requirements-test.lock"  # includes LOCK (`-r requirements.lock`)
STAMP = VENV / ".installed-lock-sha256"
TEST_STAMP = VENV / ".installed-test-lock-sha256"


def _venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _digest(*files: Path) -> str:
    digest = hashlib.sha256()
    for path in (*files, ROOT / "pyproject.toml"):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _current(stamp: Path, digest: str) -> bool:
    return stamp.exists() and stamp.read_text().strip() == digest


def _pinned(*locks: Path) -> set[str]:
    """Normalized names of the packages the lock files pin (following `-r` includes)."""
    names: set[str] = set()
    for lock in locks:
        for line in lock.read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if line.startswith("-r"):
                names |= _pinned(lock.parent / line[2:].strip())
            elif "==" in line:
                names.add(re.sub(r"[-_.]+", "-", line.split("==", 1)[0]).lower())
    return names


def _remove_unpinned(python: Path) -> None:
    """Uninstall what neither lock pins (e.g. a dependency dropped from the lock), so the tests
    cannot pass on a package a fresh install would not have."""
    freeze = subprocess.run([str(python), "-m", "pip", "freeze", "--exclude-editable", "--disable-pip-version-check"],
                            check=True, capture_output=True, text=True).stdout
    installed = {re.sub(r"[-_.]+", "-", re.split(r"[=@ ]", line, maxsplit=1)[0]).lower()
                 for line in freeze.splitlines() if line and not line.startswith(("#", "-e"))}
    stale = sorted(installed - _pinned(LOCK, TEST_LOCK))
    if stale:
        print(f"Removing packages no lock file pins: {' '.join(stale)}", flush=True)
        subprocess.run([str(python), "-m", "pip", "uninstall", "-y", "-q", *stale], check=True)


def ensure_venv(test: bool = False) -> Path:
    """Create/refresh `.venv` so it holds exactly the locked packages plus this project (and, for
    `test`, the test lock's). Each lock is installed once per content: a digest stamp in the venv."""
    python = _venv_python()
    runtime, tests = _digest(LOCK), _digest(LOCK, TEST_LOCK)
    if python.exists() and _current(STAMP, runtime) and (not test or _current(TEST_STAMP, tests)):
        return python
    if not python.exists():
        print(f"Creating virtualenv {VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "--no-input", "-q"]
    lock = TEST_LOCK if test else LOCK
    print(f"Installing the locked dependencies ({lock.name}; first run only: a few minutes) ...", flush=True)
    STAMP.unlink(missing_ok=True)
    TEST_STAMP.unlink(missing_ok=True)
    subprocess.run([*pip, "-r", str(lock)], check=True)
    subprocess.run([*pip, "--no-deps", "-e", str(ROOT)], check=True)
    _remove_unpinned(python)
    # The lock must satisfy pyproject.toml's ranges (a dependency added there but not locked fails here).
    check = subprocess.run([str(python), "-m", "pip", "check", "--disable-pip-version-check"], capture_output=True, text=True)
    if check.returncode:
        sys.exit(f"The lock files do not satisfy pyproject.toml:\n{check.stdout}{check.stderr}")
    STAMP.write_text(runtime)
    if test:
        TEST_STAMP.write_text(tests)
    return python


def main() -> None:
    python = ensure_venv(test=sys.argv[1:2] == ["test"])
    args = [str(python), "-m", "analytics_platform.cli", *sys.argv[1:]]
    if os.name == "nt":
        sys.exit(subprocess.call(args))
    os.execv(args[0], args)


if __name__ == "__main__":
    main()
