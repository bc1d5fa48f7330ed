"""File dropped → marts refreshed, with the real daemon: ``dagster dev`` on 127.0.0.1, a free port.

The platform is first brought to a steady state (the landing sensor's first tick loads nothing
new, every run it triggered has finished). Then one day of files is moved into the landing folder
at once, and the warehouse is polled read-only: when the ledger lists the files (ingested), and
when the mart grows (refreshed). Run records give the breakdown: sensor → ingestion run → dbt run.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bench.procs import Sampler

ACTIVE = ("QUEUED", "NOT_STARTED", "STARTING", "STARTED", "CANCELING")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening_addresses(port: int) -> list[str]:
    """Local addresses with a socket LISTENing on ``port`` (from /proc/net/tcp, tcp6)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if state == "0A" and int(hex_port, 16) == port:
                if len(address) == 8:
                    found.append(".".join(str(int(address[i : i + 2], 16)) for i in (6, 4, 2, 0)))
                else:
                    found.append("::1" if address.endswith("01000000") and set(address[:24]) == {"0"} else address)
    return found


def _http_ok(port: int) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def _instance(home: Path):
    import dagster as dg

    os.environ["DAGSTER_HOME"] = str(home)
    return dg.DagsterInstance.get()


def _active_runs(instance) -> list:
    import dagster as dg

    statuses = [dg.DagsterRunStatus[s] for s in ACTIVE]
    return instance.get_runs(filters=dg.RunsFilter(statuses=statuses))


def _mart_count(settings, mart: str) -> int | None:
    from analytics_platform import warehouse

    try:
        with warehouse.session(settings, read_only=True) as con:
            return con.execute(f"SELECT count(*) FROM {mart}").fetchone()[0]
    except Exception:  # noqa: BLE001 - a mart being swapped or a lock: just poll again
        return None


def _ledger_has(settings, files: list[str]) -> bool:
    from analytics_platform import warehouse

    try:
        with warehouse.session(settings, read_only=True) as con:
            rows = con.execute("SELECT count(DISTINCT source_file) FROM meta.ingest_ledger WHERE list_contains(?, source_file)", [files]).fetchone()
            quarantined = con.execute("SELECT count(DISTINCT source_file) FROM meta.quarantine WHERE list_contains(?, source_file)", [files]).fetchone()
        return rows[0] + quarantined[0] >= len(files)
    except Exception:  # noqa: BLE001
        return False


def measure(env: dict[str, str], home: Path, landing: Path, drop: list[Path], drop_root: Path, settings,
            mart: str = "marts.fct_orders", settle_timeout: float = 600, refresh_timeout: float = 600,
            log_dir: Path | None = None, done: Callable[[], bool] | None = None) -> dict:
    """Start ``dagster dev``, wait for a steady state, drop ``drop`` into landing, time the refresh:
    ``mart`` growing, or, when given, ``done()`` turning true (mark ``done``; ``bench/any_dataset.py``)."""
    port = free_port()
    root = Path(__file__).resolve().parent.parent
    cmd = [str(Path(sys.executable).parent / "dagster"), "dev", "-w", str(root / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(port)]
    log = (log_dir or home) / "dagster-dev.log"
    out = open(log, "wb")  # noqa: SIM115 - closed below
    started = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=root, env={**env, "DAGSTER_HOME": str(home)}, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                            preexec_fn=_default_sigint)
    sampler = Sampler(proc.pid, interval=0.25).start()
    result: dict = {"port": port, "command": " ".join(cmd[1:])}
    try:
        instance = _instance(home)
        while not _http_ok(port):
            if proc.poll() is not None or time.monotonic() - started > 180:
                raise RuntimeError(f"dagster dev did not serve within 180 s (exit {proc.poll()}):\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        result["ui_ready_seconds"] = round(time.monotonic() - started, 1)
        result["listening_on"] = sorted(set(listening_addresses(port)))
        # Steady state: runs the first sensor ticks start (a no-op load of the known files) finish.
        quiet_since = None
        while True:
            busy = _active_runs(instance)
            now = time.monotonic()
            if busy:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = now
            if quiet_since is not None and now - quiet_since > 40 and now - started > 60:
                break
            if now - started > settle_timeout:
                raise RuntimeError(f"no steady state within {settle_timeout} s: {len(busy)} run(s) active")
            time.sleep(1)
        result["steady_after_seconds"] = round(time.monotonic() - started, 1)
        known_runs = {r.run_id for r in instance.get_runs(limit=1000)}
        before = None if done else _mart_count(settings, mart)
        goal = "done" if done else "mart_refreshed"
        # The drop: files written beside the landing folder, then renamed in together.
        staging = landing.parent / f".{landing.name}-incoming"
        staging.mkdir(exist_ok=True)
        relatives = []
        for path in drop:
            rel = path.relative_to(drop_root)
            (staging / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, staging / rel)  # fresh mtime, as a producer's upload
            relatives.append(rel.as_posix())
        for rel in relatives:
            (landing / rel).parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / rel, landing / rel)
        t0 = time.time()
        marks: dict[str, float | None] = {"ingested": None, goal: None, "all_runs_done": None}
        quiet_since = None  # "all runs done": no run active for longer than an automation tick (15 s)
        while time.time() - t0 < refresh_timeout:
            elapsed = time.time() - t0
            if marks["ingested"] is None and _ledger_has(settings, relatives):
                marks["ingested"] = round(elapsed, 2)
            if marks[goal] is None and done is not None and done():
                marks[goal] = round(elapsed, 2)
            elif marks[goal] is None and done is None:
                count = _mart_count(settings, mart)
                if count is not None and before is not None and count > before:
                    marks[goal] = round(elapsed, 2)
            if marks[goal] is not None:
                if _active_runs(instance):
                    quiet_since = None
                elif quiet_since is None:
                    quiet_since = elapsed
                elif elapsed - quiet_since > 20:
                    marks["all_runs_done"] = round(quiet_since, 2)
                    break
            time.sleep(0.25)
        result.update(marks)
        result["files_dropped"] = len(relatives)
        result["dropped_at"] = t0
        if done is None:
            result["mart"] = mart
            result["mart_rows"] = [before, _mart_count(settings, mart)]
        result["runs"] = _runs_after(instance, known_runs, t0)
    finally:
        result["peak_rss_mib"] = sampler.stop()
        result["shutdown"] = _shutdown(proc)
        out.close()
        result["log_tail"] = log.read_text(errors="replace")[-1500:]
    return result


def _runs_after(instance, known: set[str], t0: float) -> list[dict]:
    runs = []
    for record in instance.get_run_records(limit=200):
        run = record.dagster_run
        if run.run_id in known:
            continue
        selection = sorted(k.to_user_string() for k in (run.asset_selection or []))
        runs.append({
            "launch_events": _launch_events(instance, run.run_id, t0),
            "steps": {st.step_key: round(st.end_time - st.start_time, 2) for st in instance.get_run_step_stats(run.run_id)
                      if st.start_time and st.end_time},
            "job": run.job_name,
            "tags": {k: v for k, v in run.tags.items() if k.startswith(("dagster/sensor", "dagster/automation", "analytics/"))},
            "assets": selection[:5] + (["..."] if len(selection) > 5 else []),
            "status": run.status.value,
            "created": round(record.create_timestamp.timestamp() - t0, 2),
            "started": round(record.start_time - t0, 2) if record.start_time else None,
            "ended": round(record.end_time - t0, 2) if record.end_time else None,
        })
    return sorted(runs, key=lambda r: r["created"])


def _launch_events(instance, run_id: str, t0: float) -> dict[str, float]:
    """Seconds after the drop of each event from the run's creation to its first step starting."""
    out: dict[str, float] = {}
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is None:
            continue
        name = event.event_type_value
        if name == "ENGINE_EVENT":
            name = f"ENGINE_EVENT: {(event.message or record.user_message or '')[:50]}"
        out.setdefault(name, round(record.timestamp - t0, 2))
        if event.event_type_value == "STEP_START":
            break
    return out


def _default_sigint() -> None:
    """In the child, before exec: SIGINT back to its default. A bench started in the background
    (`nohup … &`) has it ignored, exec keeps that, and dagster dev maps SIGTERM onto SIGINT's
    handler, so it would ignore the shutdown below (reported "clean shutdown: no")."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _shutdown(proc: subprocess.Popen) -> dict:
    """SIGTERM (what Ctrl-C / a service manager sends), then wait; SIGKILL only if it hangs."""
    started = time.monotonic()
    try:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        clean = True
    except subprocess.TimeoutExpired:
        clean = False
    # Children (webserver, daemon, code servers, run workers) get a grace period of their own.
    deadline = time.monotonic() + 30
    survivors = _group(proc.pid)
    while survivors and time.monotonic() < deadline:
        time.sleep(0.5)
        survivors = _group(proc.pid)
    if survivors:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return {"clean": clean and not survivors, "seconds": round(time.monotonic() - started, 1), "survivors_killed": survivors}


def _group(pgid: int) -> list[str]:
    found = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit() and _pgid(p.name) == pgid:
            try:
                state = (p / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if state != "Z":
                    found.append(f"{p.name}: " + (p / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")[:160])
            except OSError:
                continue
    return found


def _pgid(pid: str) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[2])
    except (OSError, ValueError, IndexError):
        return None
