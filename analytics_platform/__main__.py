"""`python3 -m analytics_platform up | test | materialize | generate` — works with only python3 + pip.

This module uses the standard library only: it creates the project's virtualenv (`.venv`) from
`requirements.lock` when missing or out of date, then re-runs the command inside it
(`analytics_platform.cli`), where Dagster, dbt and DuckDB are available.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("ANALYTICS_VENV", ROOT / ".venv"))
LOCK = ROOT / "requirements.lock"
STAMP = VENV / ".installed-lock-sha256"


def _venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _lock_digest() -> str:
    digest = hashlib.sha256(LOCK.read_bytes())
    digest.update((ROOT / "pyproject.toml").read_bytes())
    return digest.hexdigest()


def ensure_venv() -> Path:
    """Create/refresh `.venv` so it holds exactly the locked packages plus this project."""
    python = _venv_python()
    if python.exists() and STAMP.exists() and STAMP.read_text().strip() == _lock_digest():
        return python
    if not python.exists():
        print(f"Creating virtualenv {VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "--no-input", "-q"]
    print("Installing the locked dependencies (first run only; a few minutes) ...", flush=True)
    subprocess.run([*pip, "-r", str(LOCK)], check=True)
    subprocess.run([*pip, "--no-deps", "-e", str(ROOT)], check=True)
    STAMP.write_text(_lock_digest())
    return python


def main() -> None:
    python = ensure_venv()
    args = [str(python), "-m", "analytics_platform.cli", *sys.argv[1:]]
    if os.name == "nt":
        sys.exit(subprocess.call(args))
    os.execv(args[0], args)


if __name__ == "__main__":
    main()
