"""An analytics engineer's own `dbt build` beside the running platform (embedded warehouse).

Two dbt processes rebuilding the same tables on the SQLite-catalog DuckLake conflict at COMMIT
(measured before the fix: the engineer's build hung 63 s at COMMIT, then failed with "cannot commit
- no transaction is active"). Every dbt process now takes the warehouse's dbt lock
(analytics_platform/warehouse_lock.py): a build that finds it taken says whose it is, waits its turn and
then succeeds. Here 20 engineer builds start at random points while the platform's own dbt step
(Dagster run worker + dbt child, the production path) rebuilds the project in a loop.
"""

from __future__ import annotations

import os
import random
import sys
import threading
import time

import pytest

from tests.faults import invariants, processes

ENGINEER_BUILDS = 20
# What an engineer runs while editing a model: one mart and its tests. The mart is a table the
# platform's build also replaces. (Measured before the fix with the 80 nodes of `+fct_daily_revenue`:
# 2 of 18 builds hung 63 s at a COMMIT and failed.)
SELECTION = ("--select", "fct_daily_revenue")
HANG = 240  # seconds: a build (waiting included) still going after this is a hang


@pytest.mark.slow
def test_twenty_engineer_builds_beside_platform_runs(built_platform, tmp_path, dbt_target):
    platform = built_platform.clone(tmp_path / "platform")
    rng = random.Random(20261205)
    platform_cmd = [sys.executable, "-m", "tests.faults.driver", "dbt", "--state", str(platform.state)]
    platform_runs: list[tuple[int, str]] = []
    engineers_done = threading.Event()

    def platform_loop() -> None:  # the platform's dbt step (run worker + dbt child), again and again
        while not engineers_done.is_set():
            platform_runs.append(processes.finish(platform.spawn(platform_cmd, log_name="platform_dbt"), HANG))
            time.sleep(rng.uniform(0.0, 3.0))

    loop = threading.Thread(target=platform_loop)
    loop.start()
    builds: list[tuple[int, str, float]] = []
    try:
        for i in range(ENGINEER_BUILDS):
            time.sleep(rng.uniform(0.0, 2.0))
            started = time.monotonic()
            proc = platform.spawn(processes.dbt_cmd("build", tmp_path / f"engineer_{i}", *SELECTION), cwd=processes.DBT_PROJECT,
                                  log_name=f"engineer_{i}")
            code, out = processes.finish(proc, HANG)
            builds.append((code, out, time.monotonic() - started))
    finally:
        engineers_done.set()
        loop.join(HANG)

    failed = [(i, out[-3000:]) for i, (code, out, _) in enumerate(builds) if code != 0]
    assert failed == [], f"{len(failed)} of {ENGINEER_BUILDS} engineer builds failed; first: {failed[:1]}"
    assert [out[-3000:] for code, out in platform_runs if code != 0] == []
    assert all(processes.summary_of(out)["success"] for _, out in platform_runs)
    for _, out, _ in builds:
        assert processes.lock_errors(out) == [], processes.lock_errors(out)
    waited = [out for _, out, _ in builds if "waiting for it" in out]
    assert waited, "no engineer build met a platform run: the test proved nothing"
    assert all("held by the platform" in out for out in waited), waited[0][-2000:]
    assert all(invariants.reconciliation_results(platform).values())
    seconds = sorted(s for _, _, s in builds)
    print(f"{len(platform_runs)} platform runs; {len(waited)} of {ENGINEER_BUILDS} engineer builds waited; "
          f"build seconds median {seconds[len(seconds) // 2]:.1f}, max {seconds[-1]:.1f}")


def test_a_killed_engineer_build_frees_the_warehouse_for_the_waiting_platform(temp_platform):
    """A platform step that meets an engineer's dbt waits, naming it; when that dbt is killed
    (kill -9: no clean-up of its own) the kernel frees the lock and the step goes on."""
    import logging
    import signal

    from analytics_platform.resources import WarehouseResource

    holder = temp_platform.spawn([sys.executable, "-c", (
        "import sys, time\n"
        "from analytics_platform import warehouse_lock\n"
        "from analytics_platform.settings import load_settings\n"
        "sys.argv = ['dbt', 'build', '--select', 'my_model+']\n"
        "warehouse_lock.acquire(load_settings(), exclusive=True, who='a dbt started outside the platform', say=print)\n"
        "print('HELD', flush=True)\n"
        "time.sleep(600)\n")], log_name="engineer")
    assert processes.wait_for_line(holder, "HELD", timeout=60)
    said: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: said.append(record.getMessage())  # type: ignore[method-assign]
    import dagster as dg

    dg.get_dagster_logger().addHandler(handler)
    wrote = threading.Event()

    def platform_step() -> None:
        with WarehouseResource(state_dir=str(temp_platform.state)).connect() as con:
            con.execute("CREATE TABLE main.written_after_the_wait AS SELECT 1 AS one")
        wrote.set()

    step = threading.Thread(target=platform_step)
    step.start()
    try:
        assert not wrote.wait(3), "the platform wrote while an engineer's dbt held the warehouse"
        assert any("held by a dbt started outside the platform" in m and "dbt build --select my_model+" in m for m in said), said
        os.kill(holder.pid, signal.SIGKILL)
        assert wrote.wait(30), "the platform step still waits after the engineer's dbt was killed"
    finally:
        processes.kill_group(holder)
        step.join(30)
        dg.get_dagster_logger().removeHandler(handler)
    assert temp_platform.query("SELECT one FROM main.written_after_the_wait") == [(1,)]
