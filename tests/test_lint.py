"""The Python code passes ruff, configured in pyproject.toml (``[tool.ruff]``).

Runs the command a developer runs, ``ruff check`` from the repository root, over the Python
packages; ``ruff check --fix`` repairs most of what it reports. The SQL's linter runs in
tests/transform/test_sql_style.py.
"""

from __future__ import annotations

import subprocess
import sys

from analytics_platform.settings import PROJECT_ROOT

PACKAGES = ("analytics_platform", "ml_assets", "bench", "tests")


def test_python_passes_ruff():
    lint = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise", *PACKAGES],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300,
    )
    # 0: clean, 1: violations; anything else (ruff missing, a bad config) is an error
    assert lint.returncode in (0, 1), lint.stderr[-3000:]
    assert lint.returncode == 0, f"ruff check {' '.join(PACKAGES)}:\n{lint.stdout}"
