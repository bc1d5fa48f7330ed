"""`up`'s server: `dagster dev` as a child that stops cleanly, taking its runs with it.

Stopping `dagster dev` alone leaves its run workers going, unowned: they are processes of their
own, and would keep their pool slots and write to the warehouse after the UI is gone. So `up`
stays the parent: on Ctrl-C or SIGTERM it first asks each run in progress to terminate (Dagster's
own cancel, which marks the run canceled and frees its slots), then stops `dagster dev`, then
closes whatever run is still open (see ``recovery``). `dagster dev` runs in its own process
group, so a Ctrl-C in the terminal reaches `up` only; if `up` itself is killed, the kernel sends
`dagster dev` SIGTERM (it must not outlive its supervisor).
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg

from analytics_platform import recovery

PR_SET_PDEATHSIG = 1
RUNS_STOP_SECONDS = 30
SERVER_STOP_SECONDS = 60


def _stop_with_parent() -> None:
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def cancel_runs_in_progress(instance: dg.DagsterInstance, log=print) -> list[str]:
    """Terminate the runs `dagster dev` launched and wait (bounded) until they ended; their ids."""
    launched = [r.dagster_run for r in instance.get_run_records(filters=dg.RunsFilter(statuses=recovery.ACTIVE))
                if recovery.PID_TAG not in r.dagster_run.tags]  # a `materialize` beside us stops on its own
    for run in launched:
        log(f"canceling run {run.run_id[:8]} ({run.job_name}): the platform is stopping")
        try:
            instance.run_launcher.terminate(run.run_id)
        except Exception as error:  # noqa: BLE001 - its code server may be gone; recovery closes it below
            log(f"  could not reach run {run.run_id[:8]}: {error}")
    asked = [r.run_id for r in launched]
    deadline = time.monotonic() + RUNS_STOP_SECONDS
    while launched and time.monotonic() < deadline:
        launched = [r for r in launched if not (instance.get_run_by_id(r.run_id) or r).is_finished]
        time.sleep(0.5)
    return asked


def _stop_group(server: subprocess.Popen) -> None:
    """SIGTERM to `dagster dev`, then to what is left of its process group (code servers wait for a
    missed heartbeat otherwise; a run worker that did not stop when canceled), then SIGKILL."""
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=SERVER_STOP_SECONDS)
    except subprocess.TimeoutExpired:
        pass
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(server.pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.killpg(server.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.2)
    if server.poll() is None:
        server.wait()


def serve(cmd: list[str], home: Path) -> int:
    """Run ``cmd`` (`dagster dev …`) until it exits or this process is asked to stop."""
    # Also replaces an ignored SIGINT (`nohup … &` in a script), which the child would inherit.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    server = subprocess.Popen(cmd, cwd=home, start_new_session=True, preexec_fn=_stop_with_parent)
    try:
        return server.wait()
    except KeyboardInterrupt:
        print("Stopping: runs in progress are canceled, then the server stops.", flush=True)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    with dg.DagsterInstance.get() as instance:
        canceled = cancel_runs_in_progress(instance)
        _stop_group(server)
        for run_id in canceled:  # asked to stop but still open: its process is gone now
            run = instance.get_run_by_id(run_id)
            if run is not None:
                recovery.cancel(instance, run, "The platform was stopped (`up` got Ctrl-C or SIGTERM).")
        recovery.recover(instance, log=lambda line: print(line, flush=True))
    return 0
