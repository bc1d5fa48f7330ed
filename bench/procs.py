"""Child processes with their peak memory, read from /proc (psutil is not a dependency).

Each benchmark step runs in its own process group. While it runs, the whole process tree is
sampled every 50 ms and the peak resident set (``VmHWM``, a high-water mark the kernel keeps per
process) of every process is recorded under its command name; ``resource.getrusage`` adds the
largest peak of the children that were waited for, which catches a child too short-lived to be
sampled.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path


def _children(pid: int) -> list[int]:
    kids = []
    task = Path(f"/proc/{pid}/task")
    try:
        for tid in task.iterdir():
            text = (tid / "children").read_text()
            kids += [int(c) for c in text.split()]
    except OSError:
        pass
    return kids


def _status(pid: int) -> dict[str, str]:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    return dict(line.split(":\t", 1) for line in lines if ":\t" in line)


def _kb(value: str | None) -> int:
    return int(value.split()[0]) if value else 0


def label(pid: int) -> str:
    """A readable name: ``python -m x`` → ``x``, ``.../bin/dbt build`` → ``dbt build``."""
    try:
        argv = [a for a in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0") if a]
    except OSError:
        return f"pid {pid}"
    if not argv:
        return f"pid {pid}"
    if any("multiprocessing" in a for a in argv):
        return "python (multiprocessing child)"
    if "-m" in argv[:3]:
        i = argv.index("-m")
        return " ".join(argv[i + 1 : i + (4 if argv[i + 1].startswith("dagster") else 3)])
    name = Path(argv[0]).name
    if name.startswith("python") and len(argv) > 1:
        name = Path(argv[1]).name
        return " ".join([name, *argv[2:3]])
    return " ".join([name, *argv[1:2]])


@dataclass
class Sampler:
    """Peak RSS (MiB) of every process in the tree below ``root``."""

    root: int
    interval: float = 0.05
    peaks: dict[int, tuple[str, float]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    def _tick(self) -> None:
        todo, seen = [self.root], set()
        while todo:
            pid = todo.pop()
            if pid in seen:
                continue
            seen.add(pid)
            st = _status(pid)
            if st:
                hwm = _kb(st.get("VmHWM")) / 1024
                name = self.peaks.get(pid, (None, 0.0))[0] or label(pid)
                self.peaks[pid] = (name, max(hwm, self.peaks.get(pid, ("", 0.0))[1]))
            todo += _children(pid)

    def run(self) -> None:
        while not self._stop.is_set():
            self._tick()
            self._stop.wait(self.interval)

    def start(self) -> Sampler:
        threading.Thread(target=self.run, daemon=True).start()
        return self

    def stop(self) -> dict[str, float]:
        self._stop.set()
        by_name: dict[str, float] = {}
        for name, mib in self.peaks.values():
            by_name[name] = round(max(by_name.get(name, 0.0), mib), 1)
        return by_name


@dataclass
class Result:
    ok: bool
    seconds: float
    data: dict
    peak_rss_mib: dict[str, float]
    output: str


def run_worker(task: str, args: dict, env: dict[str, str] | None = None, timeout: float = 7200, cwd: Path | None = None,
               log: Path | None = None) -> Result:
    """``python -m bench.worker task`` with ``args`` as JSON; its last ``RESULT {...}`` line is the data."""
    cmd = [sys.executable, "-m", "bench.worker", task, json.dumps(args)]
    return run_cmd(cmd, env=env, timeout=timeout, cwd=cwd, log=log)


def run_cmd(cmd: list[str], env: dict[str, str] | None = None, timeout: float = 7200, cwd: Path | None = None,
            log: Path | None = None) -> Result:
    root = Path(__file__).resolve().parent.parent
    log = log or Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-{os.getpid()}-{time.monotonic_ns()}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    with open(log, "w+b") as out:
        proc = subprocess.Popen(cmd, cwd=cwd or root, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        sampler = Sampler(proc.pid).start()
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            code = proc.wait()
        seconds = time.perf_counter() - started
        peaks = sampler.stop()
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if after > before:  # a child (or grandchild) bigger than anything this process waited for before
        peaks["largest child (getrusage)"] = round(after / 1024, 1)
    text = log.read_text(errors="replace")
    data: dict = {}
    for line in reversed(text.splitlines()):
        if line.startswith("RESULT "):
            data = json.loads(line[len("RESULT "):])
            break
    return Result(code == 0 and bool(data) and data.get("ok", True), seconds, data, peaks, text[-6000:])


def dir_size(path: Path) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total
