"""The dbt project's SQL passes sqlfluff, configured in ``dbt_project/.sqlfluff``.

Runs the command a developer runs, ``sqlfluff lint dbt_project`` from the repository root, so the
per-folder configs and ``.sqlfluffignore`` apply as they do by hand. The jinja templater needs no
dbt profile, warehouse or manifest: this works in a fresh clone.
"""

from __future__ import annotations

import json
import subprocess
import sys

from analytics_platform.settings import DBT_PROJECT_DIR, PROJECT_ROOT

SQL_FOLDERS = ("models", "macros", "snapshots", "tests", "analyses")


def test_dbt_sql_passes_sqlfluff():
    lint = subprocess.run(
        [sys.executable, "-m", "sqlfluff", "lint", DBT_PROJECT_DIR.name, "--format", "json", "--nocolor"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300,
    )
    # 0: clean, 1: violations; anything else (sqlfluff missing, a bad config) is an error
    assert lint.returncode in (0, 1), lint.stderr[-3000:]
    results = json.loads(lint.stdout)

    linted = {(PROJECT_ROOT / r["filepath"]).resolve() for r in results}
    sql_files = {p.resolve() for folder in SQL_FOLDERS for p in (DBT_PROJECT_DIR / folder).rglob("*.sql")}
    assert sql_files and sql_files <= linted, f"not linted: {sorted(map(str, sql_files - linted))}"

    violations = [
        f"{r['filepath']}:{v['start_line_no']}:{v['start_line_pos']}: {v['code']} {v['description']}"
        for r in results
        for v in r["violations"]
    ]
    assert not violations, "sqlfluff lint dbt_project:\n" + "\n".join(violations)
