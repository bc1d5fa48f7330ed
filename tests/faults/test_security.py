"""Hostile file names, network exposure and committed secrets."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from analytics_platform.settings import PROJECT_ROOT
from tests.faults import invariants, processes
from tests.faults.temp_platform import TempPlatform

HEADER = "customer_id,email,first_name,last_name,country_code,acquisition_channel,signed_up_at,updated_at"
SAFE_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")


def _row(i: int) -> str:
    return f"{i},c{i}@example.com,Ann,Lee,DE,organic,2026-01-01 10:00:00,2026-01-01 10:00:00"


def _hostile_names() -> dict[str, tuple[str, bool]]:
    """landing-relative name → (content, True: loads | False: quarantined | None: ignored).
    Payloads try to write into the working folder or run SQL."""
    good = lambda i: "\n".join([HEADER, _row(i)]) + "\n"  # noqa: E731
    return {
        "shop/customers/a'; COPY (SELECT 42) TO 'pwned_copy.csv'; --.csv": (good(1), True),
        "shop/customers/\"); DROP TABLE meta.ingest_ledger; --.csv": (good(2), True),
        "shop/customers/a..b..csv": (good(3), True),
        "shop/customers/..hidden.csv": (good(30), None),  # hidden (leading dot): ignored, stays in landing
        "shop/customers/semi;colon;.csv": (good(4), True),
        "shop/customers/back\\slash\\.csv": (good(5), True),
        "shop/customers/line\nbreak.csv": (good(6), True),
        "shop/customers/ünï😀\u202ecod\u202c.csv": (good(7), True),
        "shop/customers/" + "x" * 200 + ".csv": (good(8), True),
        "shop/customers/$(touch pwned_shell).csv": (good(9), True),
        "shop/customers/'; --empty.csv": ("", False),  # quarantined: empty_file, with a hostile name
        "shop/customers/x...csv": ("not,the,contract\n1,2,3\n", False),  # quarantined: missing_required_column
        # Uncontracted datasets: the folder name becomes a table name. (Contents differ: identical
        # bytes anywhere in the landing folder load once.)
        "'; ATTACH 'x.db' AS pwn; --/data.csv": ("a,b\n0,2\n", True),
        "Robert'); DROP TABLE raw.shop__customers;--/data.csv": ("a,b\n1,2\n", True),
        "dots...x../data.csv": ("a,b\n2,2\n", True),
        "ünïcödé 数据/data.csv": ("a,b\n3,2\n", True),
        "123 starts with digit/data.csv": ("a,b\n4,2\n", True),
        "top level 'quoted'.csv": ("a,b\n5,2\n", True),
    }


def _files_under(root: Path) -> set[str]:
    return {str(p) for p in root.rglob("*")}


def test_hostile_file_names_are_data_never_sql_or_paths(temp_platform: TempPlatform, tmp_path: Path):
    platform = temp_platform
    outside = tmp_path / "outside"
    outside.mkdir()
    names = _hostile_names()
    for rel, (content, _) in names.items():
        path = platform.landing / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    # Links out of the landing folder are never followed.
    secret = outside / "secret.csv"
    secret.write_text("\n".join([HEADER, _row(99)]) + "\n")
    (platform.landing / "shop/customers/link.csv").symlink_to(secret)
    (platform.landing / "linked_dir").symlink_to(outside, target_is_directory=True)
    workdir = platform.root / "cwd"
    workdir.mkdir()
    before_parent = set(os.listdir(platform.root.parent))

    code, out = processes.finish(platform.spawn(platform.ingest_cmd(), cwd=workdir, log_name="hostile"), 180)
    assert code == 0, out[-4000:]
    assert list(workdir.iterdir()) == [], "something was written into the working folder"

    assert sorted(p.name for p in outside.iterdir()) == ["secret.csv"], "a payload wrote outside the platform"
    assert set(os.listdir(platform.root.parent)) == before_parent
    ledger = dict(platform.query("SELECT source_file, target_table FROM meta.ingest_ledger WHERE status = 'loaded'"))
    quarantine = invariants.quarantined(platform)
    for rel, (_, loads) in names.items():
        if loads:
            assert rel in ledger, f"{rel!r} should have loaded"
        elif loads is False:
            assert quarantine.get(rel) in ("empty_file", "missing_required_column"), f"{rel!r}: {quarantine.get(rel)}"
            assert not (platform.landing / rel).exists()
        else:
            assert rel not in ledger and rel not in quarantine and (platform.landing / rel).exists()
    assert "shop/customers/link.csv" not in ledger and not any(f.startswith("linked_dir") for f in ledger)
    assert platform.query("SELECT count(*) FROM raw.shop__customers WHERE customer_id = 99") == [(0,)]
    assert platform.query("SELECT count(*) FROM raw.shop__customers") == [(9,)], "the contracted table is intact"
    tables = platform.query("SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database()")
    assert ("meta", "ingest_ledger") in tables
    uncontracted = [t for s, t in tables if s == "uncontracted"]
    assert len(uncontracted) == 6 and all(SAFE_IDENTIFIER.match(t) for t in uncontracted), uncontracted
    assert {s for s, _ in tables} <= {"meta", "raw", "uncontracted", "main"}, "no schema appeared from a payload"
    databases = platform.query("SELECT database_name FROM duckdb_databases() WHERE NOT internal")
    assert [d for (d,) in databases if d == "pwn"] == []
    # Quarantined files and their reasons stay inside the quarantine folder.
    quarantine_dir = platform.settings.quarantine_dir.resolve()
    for (path,) in platform.query("SELECT quarantine_path FROM meta.quarantine"):
        assert Path(path).resolve().is_relative_to(quarantine_dir)
        assert Path(path).exists()
    written = _files_under(platform.root)
    assert all(Path(p).resolve().is_relative_to(platform.root.resolve()) or Path(p).is_symlink() for p in written)


# --- network exposure ----------------------------------------------------------------------------


# Run in a child whose every way of starting a program is replaced by "print the command, exit":
# `up` ends in an exec of `dagster dev`, which must never replace (or outlive) the test process.
_UP_SHIM = """
import json, os, subprocess, sys
def capture(*args, **kwargs):
    argv = [a for a in args if isinstance(a, (list, tuple))]
    command = [str(x) for x in (argv[0] if argv else args)]
    if not any("dagster" in part for part in command[:2]):
        raise OSError("only dagster is captured here")  # e.g. `file -b`, which platform.architecture() runs
    print("EXEC " + json.dumps(command), flush=True)
    os._exit(0)
for name in dir(os):
    if name.startswith(("exec", "spawn", "posix_spawn")) or name == "system":
        setattr(os, name, capture)
subprocess.Popen = subprocess.call = subprocess.run = subprocess.check_call = capture
from analytics_platform import cli
cli._ensure_sample_data = lambda *a, **k: None
cli._prepare_dbt = lambda *a, **k: None
cli.main(["up"])
print("NO EXEC", flush=True)
"""


def test_up_binds_the_webserver_to_loopback_by_default(temp_platform):
    proc = temp_platform.spawn([sys.executable, "-c", _UP_SHIM], cwd=temp_platform.root, log_name="up")
    code, out = processes.finish(proc, 60)
    lines = [line for line in out.splitlines() if line.startswith("EXEC ")]
    assert lines, f"`up` started nothing we could see:\n{out[-3000:]}"
    args = json.loads(lines[0][5:])
    assert "dev" in args, args
    host = next((args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-h", "--host")), "127.0.0.1")  # dagster's default
    assert host in ("127.0.0.1", "localhost", "::1"), f"`up` exposes the UI on {host}: {args}"


def test_config_files_do_not_open_the_platform_to_the_network():
    for name in ("workspace.yaml", "dagster.yaml"):
        text = (PROJECT_ROOT / name).read_text()
        assert "0.0.0.0" not in text and "::/0" not in text, f"{name} binds all interfaces"
        config = yaml.safe_load(text) or {}
        for location in (config.get("load_from") or []) if name == "workspace.yaml" else []:
            for kind in ("grpc_server",):
                if kind in location:
                    assert location[kind].get("host", "localhost") in ("localhost", "127.0.0.1"), location
    cli_text = (PROJECT_ROOT / "analytics_platform" / "cli.py").read_text()
    assert "0.0.0.0" not in cli_text


# --- committed secrets -----------------------------------------------------------------------------

# Assembled from parts so that this file never matches its own patterns.
_B = "-----" + "BEGIN"
SECRET_PATTERNS = {
    "AWS access key id": re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[0-9A-Z]{16}(?![A-Z0-9])"),
    "AWS secret access key": re.compile(r"(?i)aws_?secret_?access_?key\s*[=:]\s*['\"]?[A-Za-z0-9/+=]{40}"),
    "private key": re.compile(_B + r" (?:[A-Z0-9]+ )*PRIVATE KEY-----"),
    "GitHub token": re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{50,})\b"),
    "Slack token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    "API secret key (sk-...)": re.compile(r"\bsk-(?:proj-|ant-)?[A-Za-z0-9_-]{32,}"),
    "Google API key": re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),
    "Stripe live key": re.compile(r"\b[rs]k_live_[0-9a-zA-Z]{20,}"),
    "password in a URL": re.compile(r"\b[a-z][a-z0-9+.-]{1,20}://[^\s/:@'\"]{1,64}:([^\s/@'\"]{1,128})@[\w.-]+"),
    "hard-coded credential": re.compile(
        r"(?i)\b(?:password|passwd|pwd|secret|api_?key|access_?token|auth_?token)\b\s*[:=]\s*['\"]([^'\"\s]{8,})['\"]"),
}
PLACEHOLDERS = re.compile(r"(?i)^(?:\$\{?\w+\}?|\{\{.*\}\}|<[^>]+>|x+|\*+|changeme|password|secret|example\w*|dummy\w*|test\w*|\.\.\.)$")
SKIP_SUFFIXES = (".parquet", ".png", ".jpg", ".gif", ".ico", ".gz", ".zip", ".msgpack", ".gpickle", ".sqlite", ".duckdb", ".whl")
FORBIDDEN_FILES = re.compile(r"(?:^|/)(?:\.env(?:\..+)?|id_[rd]sa|id_ecdsa|id_ed25519|.+\.pem|.+\.p12|.+\.pfx|credentials\.json|\.netrc|\.pypirc)$")


def scan_text(text: str) -> list[tuple[str, str]]:
    found = []
    for kind, pattern in SECRET_PATTERNS.items():
        for match in pattern.finditer(text):
            value = match.group(1) if match.groups() else match.group(0)
            if kind in ("password in a URL", "hard-coded credential") and PLACEHOLDERS.match(value or ""):
                continue
            found.append((kind, match.group(0)[:80]))
    return found


def _repo_files() -> list[str]:
    if shutil.which("git") is None or not (PROJECT_ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    listing = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=PROJECT_ROOT,
                             capture_output=True, check=True).stdout
    return sorted({f for f in listing.decode().split("\0") if f})


def test_the_secret_scanner_finds_planted_secrets():
    planted = "\n".join([
        "key = " + "AKIA" + "ABCDEFGHIJKLMNOP",
        _B + " RSA PRIVATE KEY-----",
        "url = 'postgresql://etl:" + "S3cr3tP4ss" + "@db.internal:5432/x'",
        "token: " + "ghp_" + "a1" * 20,
        'password = "' + "hunter2hunter2" + '"',
    ])
    kinds = {k for k, _ in scan_text(planted)}
    assert kinds == {"AWS access key id", "private key", "password in a URL", "GitHub token", "hard-coded credential"}
    assert scan_text("url: 'postgresql://user:${DB_PASSWORD}@host/db'\npassword = \"<password>\"") == []


def test_no_secret_is_committed():
    problems = []
    for rel in _repo_files():
        path = PROJECT_ROOT / rel
        if FORBIDDEN_FILES.search(rel):
            problems.append((rel, "file that usually holds credentials"))
        if not path.is_file() or path.is_symlink() or rel.endswith(SKIP_SUFFIXES) or path.stat().st_size > 5 << 20:
            continue
        data = path.read_bytes()
        if b"\0" in data[:8192]:
            continue
        problems += [(rel, f"{kind}: {snippet}") for kind, snippet in scan_text(data.decode("utf-8", errors="replace"))]
    assert problems == [], "secret-looking values in files git would commit:\n" + "\n".join(f"  {f}: {p}" for f, p in problems)

