"""Recovery decides from the process, never from the clock: dead runs are closed, live ones kept.

Unit level, on a real (temporary, SQLite) Dagster instance with the project's pool granularity;
the end-to-end kills are in tests/faults/test_crash_recovery.py.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid

import dagster as dg
import pytest

from analytics_platform import recovery
from analytics_platform.resources import WarehouseResource

POOL = "warehouse"


@pytest.fixture
def instance(tmp_path):
    with dg.DagsterInstance.local_temp(str(tmp_path)) as instance:
        instance.event_log_storage.set_concurrency_slots(POOL, 1)
        yield instance


def exited_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def add_run(instance: dg.DagsterInstance, status: dg.DagsterRunStatus, tags: dict[str, str], slot: bool = True) -> str:
    run_id = str(uuid.uuid4())
    instance.add_run(dg.DagsterRun(job_name="some_job", run_id=run_id, status=status, tags=tags))
    if slot:
        claim = instance.event_log_storage.claim_concurrency_slot(POOL, run_id, "some_step")
        assert claim.is_claimed or claim.is_assigned is not None
    return run_id


def status(instance: dg.DagsterInstance, run_id: str) -> dg.DagsterRunStatus:
    return instance.get_run_by_id(run_id).status


def test_a_live_process_is_alive_however_long_it_ran():
    assert recovery.process_gone(os.getpid(), time.time()) is None
    started = recovery.process_started_at(os.getpid())
    assert started is not None and started <= time.time()


def test_an_exited_process_is_gone():
    pid = exited_pid()
    assert "no longer exists" in recovery.process_gone(pid, time.time())


def test_a_pid_reused_by_a_later_process_is_gone():
    """After a reboot a run's old pid may belong to a new process: it started after the record."""
    recorded_long_before_this_process = recovery.process_started_at(os.getpid()) - 3600
    assert "started later" in recovery.process_gone(os.getpid(), recorded_long_before_this_process)


def test_recover_closes_dead_runs_and_frees_slots_and_leaves_live_ones(instance):
    dead = add_run(instance, dg.DagsterRunStatus.STARTED, {recovery.PID_TAG: str(exited_pid())})
    alive = add_run(instance, dg.DagsterRunStatus.STARTED, recovery.process_tags(), slot=False)
    elsewhere = add_run(instance, dg.DagsterRunStatus.STARTED, {recovery.PID_TAG: str(exited_pid()), recovery.HOST_TAG: "another-host"}, slot=False)
    unknown = add_run(instance, dg.DagsterRunStatus.STARTED, {}, slot=False)  # no process recorded yet

    lines: list[str] = []
    recovered = recovery.recover(instance, log=lines.append)

    assert [r.run_id for r in recovered] == [dead]
    assert status(instance, dead) == dg.DagsterRunStatus.FAILURE
    assert {status(instance, r) for r in (alive, elsewhere, unknown)} == {dg.DagsterRunStatus.STARTED}
    assert recovery.runs_holding_slots(instance) == set()
    assert len(lines) == 1 and lines[0].startswith(f"recovered run {dead[:8]}") and "no longer exists" in lines[0]
    failure = instance.all_logs(dead, of_type=dg.DagsterEventType.RUN_FAILURE)
    assert "Recovered by the platform" in failure[-1].dagster_event.message


def test_recover_frees_slots_of_runs_that_ended(instance):
    ended = add_run(instance, dg.DagsterRunStatus.FAILURE, {})
    running = add_run(instance, dg.DagsterRunStatus.STARTED, recovery.process_tags())
    recovered = recovery.recover(instance, log=lambda _: None)
    assert [(r.run_id, r.reason) for r in recovered] == [(ended, "it had ended but still held pool slots")]
    assert recovery.runs_holding_slots(instance) == {running}


def test_a_run_using_the_warehouse_is_tagged_with_its_host(instance, tmp_path):
    """So that, with the instance shared in PostgreSQL, recovery tells this machine's runs from others'."""
    @dg.asset
    def uses_the_warehouse(warehouse: WarehouseResource) -> None:
        pass

    result = dg.materialize([uses_the_warehouse], resources={"warehouse": WarehouseResource(state_dir=str(tmp_path / "state"))},
                            instance=instance)
    assert instance.get_run_by_id(result.run_id).tags[recovery.HOST_TAG] == socket.gethostname()
