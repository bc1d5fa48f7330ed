"""A real write error while a file's rows are written into the warehouse: disk full, a folder that
refuses writes, a file where the table's data folder should be.

The faults are made in the file system, not by monkeypatching (tests run as root, so a plain
chmod does not stop a write; each method probes that it really fails before it is used):

- ``disk_full``: the table's data folder becomes a tmpfs just big enough for what it holds (ENOSPC);
- ``immutable_dir``: ``chattr +i`` on the folder, which stops root too (EPERM);
- ``not_a_directory``: a regular file where the table's folder should be (ENOTDIR);
- ``chmod_read_only``: mode 0555, effective only when not running as root.

The promise: the file stays in landing, has no ledger row, no quarantine entry, no row in the
table; once the disk is healthy the next run loads it exactly once. The faulted load calls the
loader directly (``raw_tables`` has a retry policy that would repeat the same failure twice
more, 15 s of back-off); the healthy runs go through the asset. The first healthy load is the
same for every case: it runs once per module and each case works on its own copy of the result.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.faults import invariants, processes
from tests.faults.temp_platform import TempPlatform, copy_landing

EVENTS = "web/events"


class Fault:
    """Break writes into ``folder``; ``heal`` makes it writable again; ``cleanup`` always runs."""

    expected_error = ""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def inject(self) -> None: ...
    def heal(self) -> None: ...
    def cleanup(self) -> None: ...

    def probe(self) -> None:
        """Skip the test unless writing into the broken folder really fails now."""
        probe = self.folder / f"probe-{uuid.uuid4().hex}"
        try:
            probe.write_bytes(b"x" * (256 << 10))
        except OSError:
            return
        probe.unlink()
        self.heal()
        self.cleanup()
        pytest.skip(f"{type(self).__name__} does not stop writes here (running as root? no such file system feature?)")


class DiskFull(Fault):
    expected_error = "No space left on device"

    def inject(self) -> None:
        held = self.folder.with_name(self.folder.name + ".held")
        self.folder.rename(held)
        self.folder.mkdir()
        size = sum(p.stat().st_size for p in held.iterdir()) + (64 << 10)
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(self.folder)], capture_output=True, text=True)
        if result.returncode != 0:
            self.folder.rmdir()
            held.rename(self.folder)
            pytest.skip(f"cannot mount a small tmpfs here: {result.stderr.strip()}")
        self.mounted = True
        for p in held.iterdir():
            shutil.copy2(p, self.folder / p.name)
        shutil.rmtree(held)

    def heal(self) -> None:
        subprocess.run(["mount", "-o", "remount,size=256m", str(self.folder)], check=True)

    def cleanup(self) -> None:
        if getattr(self, "mounted", False):
            subprocess.run(["umount", "-l", str(self.folder)], check=False)
            self.mounted = False


class ImmutableDir(Fault):
    expected_error = "Operation not permitted"

    def inject(self) -> None:
        result = subprocess.run(["chattr", "+i", str(self.folder)], capture_output=True, text=True)
        if result.returncode != 0:
            pytest.skip(f"chattr +i unavailable: {result.stderr.strip()}")
        self.set = True

    def heal(self) -> None:
        subprocess.run(["chattr", "-i", str(self.folder)], check=False)

    def cleanup(self) -> None:
        self.heal()


class NotADirectory(Fault):
    expected_error = "Not a directory|is a file, not a directory"

    def inject(self) -> None:
        self.held = self.folder.with_name(self.folder.name + ".held")
        self.folder.rename(self.held)
        self.folder.write_text("a stray file where the table's data folder should be\n")
        self.folder = self.folder  # probe writes *below* this path: fails with ENOTDIR

    def heal(self) -> None:
        if self.folder.is_file():
            self.folder.unlink()
            self.held.rename(self.folder)

    def cleanup(self) -> None:
        self.heal()


class ChmodReadOnly(Fault):
    expected_error = "Permission denied"

    def inject(self) -> None:
        os.chmod(self.folder, 0o555)

    def heal(self) -> None:
        os.chmod(self.folder, 0o755)

    def cleanup(self) -> None:
        self.heal()


FAULTS = {"disk_full": DiskFull, "immutable_dir": ImmutableDir, "not_a_directory": NotADirectory, "chmod_read_only": ChmodReadOnly}


def _days(sample_landing: Path, folder: str) -> list[str]:
    return sorted(p.relative_to(sample_landing).as_posix() for p in (sample_landing / folder).iterdir())


@pytest.fixture(scope="module")
def first_days(sample_landing, tmp_path_factory) -> TempPlatform:
    """Two days of events and customers, loaded through the asset once for all cases."""
    platform = TempPlatform(tmp_path_factory.mktemp("disk_errors") / "first_days")
    events, customers = _days(sample_landing, EVENTS), _days(sample_landing, "shop/customers")
    copy_landing(sample_landing, platform.landing, only=events[:2] + customers[:2])
    code, out = platform.ingest_here()
    assert code == 0, out[-3000:]
    return platform


@pytest.mark.parametrize("method", list(FAULTS))
def test_write_error_leaves_the_file_in_landing_and_the_next_run_loads_it(method, sample_landing, first_days, tmp_path):
    platform = first_days.clone(tmp_path / "platform")
    events = _days(sample_landing, EVENTS)
    customers = _days(sample_landing, "shop/customers")
    rows_before = platform.query("SELECT count(*) FROM raw.web__events")[0][0]
    assert rows_before > 0 and sorted(invariants.ledger_files(platform)) == sorted(events[:2] + customers[:2])

    late = events[2:12]  # ten days of events (a few hundred KB as Parquet): more than the disk has left
    copy_landing(sample_landing, platform.landing, only=late + customers[2:4])
    fault = FAULTS[method](platform.settings.data_path / "raw" / "web__events")
    try:
        fault.inject()
        fault.probe()
        code, out = platform.ingest_with_loader()
        fault.heal()
        assert re.search(fault.expected_error, out), f"the run did not meet the injected fault ({fault.expected_error!r}):\n{out[-3000:]}"
        assert processes.lock_errors(out) == []
        ledger, quarantine = invariants.ledger_files(platform), invariants.quarantined(platform)
        for rel in late:
            assert (platform.landing / rel).exists(), f"{rel} left landing after a write error"
            assert rel not in ledger, f"{rel} has a ledger row although its rows could not be written"
            assert rel not in quarantine, f"{rel} was quarantined for a disk problem: it is not the file's fault"
        assert platform.query("SELECT count(*) FROM raw.web__events")[0][0] == rows_before, "rows half-loaded"
        assert invariants.exactly_once_violations(platform) == []
        print(f"{method}: run exit code {code} with {fault.expected_error!r}; files stayed in landing, nothing half-loaded")

        code, out = platform.ingest_here()  # the disk is healthy again
        assert code == 0, f"the run after the disk was healed failed:\n{out[-3000:]}"
        ledger = invariants.ledger_files(platform)
        assert all(rel in ledger for rel in late + customers[:4])
        assert invariants.exactly_once_violations(platform) == []
        assert all(invariants.reconciliation_results(platform).values())
        assert invariants.quarantined(platform) == {}
    finally:
        fault.cleanup()


def test_write_error_on_an_uncontracted_dataset_does_not_quarantine_it(temp_platform):
    platform: TempPlatform = temp_platform
    (platform.landing / "weather").mkdir()
    (platform.landing / "weather/day1.csv").write_text("day,temp\n2026-01-01,3.5\n")
    code, out = platform.ingest_with_loader()  # setup: the dataset's table and data folder exist
    assert code == 0, out[-3000:]
    (platform.landing / "weather/day2.csv").write_text("day,temp\n" + "".join(f"2026-01-02,{i}.5\n" for i in range(20000)))
    fault = NotADirectory(platform.settings.data_path / "uncontracted" / "weather__day")  # day1, day2: series `day`
    try:
        fault.inject()
        fault.probe()
        code, out = platform.ingest_with_loader()
    finally:
        fault.cleanup()
    assert re.search(fault.expected_error, out)
    assert "weather/day2.csv" not in invariants.quarantined(platform), "a disk error quarantined a good file"
    assert (platform.landing / "weather/day2.csv").exists()
