"""Close the runs whose process died, and give back the pool slots they held.

A run that dies with its process (OOM, ``kill -9``, a reboot, ``dagster dev`` killed as a whole)
stays STARTED in the instance and keeps its claim on the ``warehouse`` pool: every later writer
then waits for a slot that nobody will free. Dagster's run monitoring does not cover the runs
``materialize`` executes in its own process (they have no run launcher to ask), nor runs whose
code server died with them; and a run that did end may still hold its slot.

Dead is decided from the process, never from elapsed time, and only for runs of this machine: the run's process id (the tag
``analytics/pid`` that ``materialize`` sets, else the pid Dagster records in the run's engine events
when a run worker starts) must no longer exist, or belong to a process started after the run
recorded it (the pid was reused, e.g. after a reboot). A slow run is alive and left alone. Runs that
recorded no process yet (still starting) are left to Dagster's ``start_timeout_seconds``.

``recover`` runs when ``up`` and ``materialize`` start and, while ``dagster dev`` runs, in the
``run_recovery`` sensor. A recovered run is marked failed with the reason (on its page in the UI),
so run retries re-execute it where retries apply; one log line per run says what was done.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

import dagster as dg
from dagster._core.events import DagsterEventType
from dagster._core.storage.runs.sqlite import SqliteRunStorage

PID_TAG = "analytics/pid"
HOST_TAG = "analytics/host"
ACTIVE = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]
# A process whose start the kernel dates up to this long after the run recorded its pid is still
# that run's process: /proc start times and event timestamps come from different clocks.
CLOCK_SLACK_SECONDS = 2.0


@dataclass(frozen=True)
class Recovered:
    run_id: str
    job_name: str
    status: str  # the status it had before: STARTED, STARTING or CANCELING, or FINISHED for slots only
    reason: str

    def log_line(self) -> str:
        return f"recovered run {self.run_id[:8]} ({self.job_name}, was {self.status}): {self.reason}"


def process_tags() -> dict[str, str]:
    """Tags that tie a run executed in this process to it (``materialize``)."""
    return {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}


def _boot_time() -> float:
    with open("/proc/stat") as stat:
        return next(float(line.split()[1]) for line in stat if line.startswith("btime "))


def process_started_at(pid: int) -> float | None:
    """When process ``pid`` started (epoch seconds), or None if there is no such process."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None
    if fields[0] == "Z":  # a zombie has exited; only its parent has not reaped it yet
        return None
    return _boot_time() + int(fields[19]) / os.sysconf("SC_CLK_TCK")


def run_process(instance: dg.DagsterInstance, run: dg.DagsterRun) -> tuple[int, float] | None:
    """The pid of the process executing ``run`` and when it was recorded, if any was."""
    if PID_TAG in run.tags:
        record = instance.get_run_record_by_id(run.run_id)
        started = record.start_time or record.create_timestamp.timestamp() if record else time.time()
        return int(run.tags[PID_TAG]), float(started)
    latest = None
    for entry in instance.all_logs(run.run_id, of_type=DagsterEventType.ENGINE_EVENT):
        data = entry.dagster_event.engine_event_data if entry.dagster_event else None
        pid = data.metadata.get("pid") if data and data.metadata else None
        if pid is not None:
            latest = (int(pid.value), entry.timestamp)
    return latest


def on_this_machine(instance: dg.DagsterInstance, run: dg.DagsterRun) -> bool:
    """A run tagged with its host ran here if the host is this one (``materialize`` tags its runs
    at launch, the warehouse resource every other run when its first warehouse step starts); an
    untagged run only when the instance is in local SQLite files, which one machine alone uses.
    With the instance in PostgreSQL, a run that died before tagging is left to Dagster's run
    monitoring (``start_timeout_seconds``)."""
    if HOST_TAG in run.tags:
        return run.tags[HOST_TAG] == socket.gethostname()
    return isinstance(instance.run_storage, SqliteRunStorage)


def is_dead(instance: dg.DagsterInstance, run: dg.DagsterRun) -> str | None:
    """Why ``run``'s process is known to be gone, or None (alive, unknown, or on another machine)."""
    if not on_this_machine(instance, run):
        return None
    process = run_process(instance, run)
    return None if process is None else process_gone(*process)


def process_gone(pid: int, recorded_at: float) -> str | None:
    """Why the process ``pid``, recorded at ``recorded_at`` (epoch), is gone; None if it runs."""
    started = process_started_at(pid)
    if started is None:
        return f"its process (pid {pid}) no longer exists: killed (out of memory, kill -9) or the machine restarted"
    if started > recorded_at + CLOCK_SLACK_SECONDS:
        return f"its process (pid {pid}) is gone; that pid now belongs to a process started later (the machine restarted)"
    return None


def runs_holding_slots(instance: dg.DagsterInstance) -> set[str]:
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return set()
    held: set[str] = set()
    for info in storage.get_concurrency_infos(sorted(storage.get_concurrency_keys())).values():
        held |= {slot.run_id for slot in info.claimed_slots} | {step.run_id for step in info.pending_steps}
    return held


def cancel(instance: dg.DagsterInstance, run: dg.DagsterRun, message: str) -> None:
    """Close a run stopped on purpose (Ctrl-C, SIGTERM): CANCELED if still open, its slots freed."""
    if not run.is_finished:
        instance.report_run_canceled(run, message=message)
    instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)


def recover(instance: dg.DagsterInstance, log: Callable[[str], None] = print) -> list[Recovered]:
    """Mark dead runs failed (with the reason) and free every slot held by a run that is not running."""
    recovered = []
    for record in instance.get_run_records(filters=dg.RunsFilter(statuses=ACTIVE)):
        run = record.dagster_run
        reason = is_dead(instance, run)
        if reason is None:
            continue
        message = f"Recovered by the platform: {reason}. Marked failed and its pool slots freed."
        instance.report_run_failed(run, message=message)
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        recovered.append(Recovered(run.run_id, run.job_name, run.status.value, reason))
    for run_id in runs_holding_slots(instance):
        run = instance.get_run_by_id(run_id)
        if run is not None and not run.is_finished:
            continue
        instance.event_log_storage.free_concurrency_slots_for_run(run_id)
        status = run.status.value if run else "deleted"
        recovered.append(Recovered(run_id, run.job_name if run else "?", status, "it had ended but still held pool slots"))
    for item in recovered:
        log(item.log_line())
    return recovered
