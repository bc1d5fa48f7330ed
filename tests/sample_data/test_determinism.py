"""Same arguments must give byte-identical landing files."""

from __future__ import annotations

import hashlib
from pathlib import Path

from analytics_platform.sample_data import generate, write_landing


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_two_runs_are_byte_identical(tmp_path: Path) -> None:
    args = dict(seed=3, scale=0.03, days=30, start_date="2026-01-01")
    a = write_landing(generate(**args), tmp_path / "a")
    b = write_landing(generate(**args), tmp_path / "b")
    assert len(a) == len(b) > 100
    da, db = _digest(tmp_path / "a"), _digest(tmp_path / "b")
    assert da == db
    assert not any(name.endswith(".tmp") for name in da)


def test_other_seed_changes_the_data(tmp_path: Path) -> None:
    base = dict(scale=0.03, days=30, start_date="2026-01-01")
    write_landing(generate(seed=3, **base), tmp_path / "a")
    write_landing(generate(seed=4, **base), tmp_path / "b")
    da, db = _digest(tmp_path / "a"), _digest(tmp_path / "b")
    assert da.keys() & db.keys()
    changed = [k for k in da.keys() & db.keys() if da[k] != db[k]]
    assert len(changed) > 0.8 * len(da.keys() & db.keys())


def test_cli_matches_api(tmp_path: Path) -> None:
    from analytics_platform.sample_data.cli import main

    assert main(["--seed", "5", "--scale", "0.02", "--days", "15", "--out", str(tmp_path / "cli")]) == 0
    write_landing(generate(5, 0.02, 15, "2026-01-01"), tmp_path / "api")
    assert _digest(tmp_path / "cli") == _digest(tmp_path / "api")
