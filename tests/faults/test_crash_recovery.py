"""A crash never jams the platform: killed runs are recovered on the product's own path.

Every test here runs the commands a user runs (`materialize`, `up` → `dagster dev`) on a persistent
instance: DAGSTER_HOME holding the project's dagster.yaml, as `python3 -m analytics_platform` sets
it up. A run is killed with -9 at three points (ingestion, dbt, ML) — the `materialize` process,
a run worker under `dagster dev`, or `dagster dev` as a whole — and the next start must recover
on its own: the dead run is marked failed with the reason, its pool slot is freed within 60 s,
the work is redone, and the end state equals that of a run that was never interrupted.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.events import DagsterEventType
from dagster._core.instance.ref import InstanceRef

from analytics_platform import recovery
from analytics_platform.settings import PROJECT_ROOT
from tests.faults import invariants, processes
from tests.faults.temp_platform import TempPlatform, copy_landing
from tests.ui.conftest import free_port

pytestmark = pytest.mark.slow

# 95 days: the churn model's time-based split needs 90, so the ML steps run (and can be killed).
SCALE, DAYS = "0.05", "95"
RECOVERY_SECONDS = 60
# Columns whose values say when or by which run a row was written, not what the data is.
TIME_DEPENDENT = (r"^dbt_", r"^_loaded_at$")
ML_TIME_DEPENDENT = (r"^model_run_id$", r"^run_id$", r"^(scored|evaluated|detected|created)_at$")
# MLflow's registry is not rolled back with a killed run: a version it registered and promoted stays
# champion, so a drift evaluation after the crash names "champion v1" where an uninterrupted run said
# "training rows (no champion yet)". The PSI values, measured on the same training rows, must match.
DRIFT_PROVENANCE = (*ML_TIME_DEPENDENT, r"^reference$", r"^model_version$")
ACTIVE = [*recovery.ACTIVE, dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED]

# The CLI as a user runs it; only the dbt parse goes to the suite's manifest (never re-parsed into
# the project's target with a temp warehouse's profile).
_CLI = """
import sys
from analytics_platform import cli
from analytics_platform.defs.transform.project import ensure_manifest
cli._prepare_dbt = ensure_manifest
sys.exit(cli.main(sys.argv[1:]))
"""


@pytest.fixture(scope="module")
def history_landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from analytics_platform.sample_data.cli import main as generate

    out = tmp_path_factory.mktemp("history") / "landing"
    with contextlib.redirect_stdout(io.StringIO()):
        assert generate(["--scale", SCALE, "--days", DAYS, "--out", str(out)]) == 0
    return out


def new_platform(root: Path, landing: Path) -> TempPlatform:
    platform = TempPlatform(root)
    copy_landing(landing, platform.landing)
    # What the CLI does first (cli._dagster_home); here already, as the test reads the instance.
    home = Path(platform.env()["DAGSTER_HOME"])
    (home / "dagster.yaml").symlink_to(PROJECT_ROOT / "dagster.yaml")
    return platform


def cli(platform: TempPlatform, *args: str, log_name: str) -> object:
    return platform.spawn([sys.executable, "-c", _CLI, *args], log_name=log_name)


def materialize(platform: TempPlatform, log_name: str = "materialize"):
    return cli(platform, "materialize", "--no-sample-data", log_name=log_name)


def end_state(platform: TempPlatform) -> dict:
    relations = invariants.mart_tables(platform)
    ml = [r for r in relations if r.startswith("ml.")]
    return {
        "raw": invariants.table_fingerprints(platform),
        "ledger": invariants.ledger_files(platform),
        "relations": {**invariants.relation_fingerprints(platform, [r for r in relations if r not in ml], exclude=TIME_DEPENDENT),
                      **invariants.relation_fingerprints(platform, [r for r in ml if r != "ml.feature_drift"], exclude=ML_TIME_DEPENDENT),
                      **invariants.relation_fingerprints(platform, [r for r in ml if r == "ml.feature_drift"], exclude=DRIFT_PROVENANCE)},
    }


@contextlib.contextmanager
def instance_of(platform: TempPlatform) -> Iterator[dg.DagsterInstance]:
    """The platform's instance, as its processes see it (the storage's folder is $DAGSTER_HOME)."""
    home = platform.env()["DAGSTER_HOME"]
    saved = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = home
    try:
        with dg.DagsterInstance.from_ref(InstanceRef.from_dir(home)) as instance:
            yield instance
    finally:
        if saved is None:
            os.environ.pop("DAGSTER_HOME", None)
        else:
            os.environ["DAGSTER_HOME"] = saved


def runs(platform: TempPlatform, statuses: list[dg.DagsterRunStatus] | None = None) -> list[dg.DagsterRun]:
    with instance_of(platform) as instance:
        return [r.dagster_run for r in instance.get_run_records(filters=dg.RunsFilter(statuses=statuses) if statuses else None)]


def stale_slot_holders(platform: TempPlatform) -> list[str]:
    """Runs holding (or queued for) a pool slot although they ended or their process is dead."""
    with instance_of(platform) as instance:
        stale = []
        for run_id in recovery.runs_holding_slots(instance):
            run = instance.get_run_by_id(run_id)
            if run is None or run.is_finished or recovery.is_dead(instance, run):
                stale.append(f"{run_id[:8]} ({run.status.value if run else 'deleted'})")
        return stale


def wait_until(condition: Callable[[], object], timeout: float, what: str, proc=None) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the process exited while waiting for {what}:\n{processes.output_of(proc)[-4000:]}")
        time.sleep(0.25)
    tail = f"\n{processes.output_of(proc)[-4000:]}" if proc is not None else ""
    raise AssertionError(f"not within {timeout:.0f} s: {what}{tail}")


def started_steps(platform: TempPlatform, run_id: str) -> set[str]:
    with instance_of(platform) as instance:
        return {e.step_key for e in instance.all_logs(run_id, of_type=DagsterEventType.STEP_START)}


def dbt_is_writing(platform: TempPlatform) -> bool:
    """dbt of this platform is running a model (its own log says so)."""
    return any("START sql" in log.read_text(errors="replace") for log in (platform.state / "dbt" / "runs").glob("*/dbt.log")
               if time.time() - log.stat().st_mtime < 30)


# Where a kill lands, judged from the outside while the run goes on.
def in_ingestion(platform: TempPlatform, run_id: str, output: str) -> bool:
    return output.count("committed ") >= 2


def in_dbt(platform: TempPlatform, run_id: str, output: str) -> bool:
    return "dbt_models" in started_steps(platform, run_id) and dbt_is_writing(platform)


def in_ml(platform: TempPlatform, run_id: str, output: str) -> bool:
    return "churn_model" in started_steps(platform, run_id)


STAGES = {"ingestion": in_ingestion, "dbt": in_dbt, "ml": in_ml}


def new_runs(platform: TempPlatform, known: set[str | None]) -> list[dg.DagsterRun]:
    return [r for r in runs(platform, recovery.ACTIVE) if r.run_id not in known]


def reached_stage(platform: TempPlatform, proc, run_id: str, reached: Callable[[TempPlatform, str, str], bool]) -> bool:
    return reached(platform, run_id, processes.output_of(proc))


def said(proc, text: str) -> bool:
    return text in processes.output_of(proc)


@pytest.fixture(scope="module")
def uninterrupted(history_landing: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    platform = new_platform(tmp_path_factory.mktemp("uninterrupted") / "platform", history_landing)
    code, out = processes.finish(materialize(platform), 600)
    assert code == 0, out[-5000:]
    state = end_state(platform)
    assert any(r.startswith("ml.churn_scores") for r in state["relations"]), "the ML assets did not run: no kill point there"
    return state


def assert_recovered_to(platform: TempPlatform, reference: dict) -> None:
    assert invariants.exactly_once_violations(platform) == []
    assert runs(platform, recovery.ACTIVE) == [], "a run is still open after the platform went quiet"
    assert stale_slot_holders(platform) == []
    state = end_state(platform)
    assert state["ledger"] == reference["ledger"]
    assert state["raw"] == reference["raw"]
    differ = {r: (reference["relations"].get(r), state["relations"].get(r))
              for r in set(reference["relations"]) | set(state["relations"]) if reference["relations"].get(r) != state["relations"].get(r)}
    assert not differ, f"relations differ from an uninterrupted run (rows, checksum): {differ}"


def test_materialize_killed_at_each_stage_recovers_on_the_next_start(history_landing, uninterrupted, tmp_path):
    """kill -9 of `materialize` (the process alone, as the OOM killer does) in ingestion, in dbt, in
    ML; each next `materialize` starts by recovering the dead run and is the one killed next."""
    platform = new_platform(tmp_path / "platform", history_landing)
    killed: str | None = None
    for stage, reached in STAGES.items():
        proc = materialize(platform, log_name=f"killed_in_{stage}")
        own = wait_until(partial(new_runs, platform, {killed}), 120, "the run started", proc)[0]
        wait_until(partial(reached_stage, platform, proc, own.run_id, reached), 300, f"the run reached {stage}", proc)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        output = processes.output_of(proc)
        if killed:
            assert f"recovered run {killed[:8]}" in output, f"no recovery line for the run killed before:\n{output[-3000:]}"
            assert "blocked by limit" not in output, "a step waited on a slot of the dead run"
        wait_until(lambda: processes.surviving_processes(platform) == [], 15, "the killed run's dbt died with it")
        killed = own.run_id
    code, out = processes.finish(materialize(platform, log_name="final"), 600)
    assert code == 0, out[-5000:]
    assert f"recovered run {killed[:8]}" in out
    assert "blocked by limit" not in out
    assert [r.status for r in runs(platform) if r.run_id == killed] == [dg.DagsterRunStatus.FAILURE]
    assert_recovered_to(platform, uninterrupted)


def test_sigterm_stops_a_materialize_waiting_for_the_pool_at_once(history_landing, tmp_path):
    """SIGTERM (a service manager, `timeout`) of a `materialize` whose step waits for the pool slot
    held by another, live `materialize`: it stops within seconds, its run canceled, its claim gone."""
    platform = new_platform(tmp_path / "platform", history_landing)
    holder = materialize(platform, log_name="holder")
    try:
        wait_until(lambda: "committed " in processes.output_of(holder), 120, "the first run holds the slot", holder)
        waiter = materialize(platform, log_name="waiter")
        wait_until(lambda: "blocked by limit for pool warehouse" in processes.output_of(waiter), 120, "the second run waits", waiter)
        waiting = [r for r in runs(platform, recovery.ACTIVE) if f"{r.run_id} - " in processes.output_of(waiter)]
        asked = time.monotonic()
        waiter.send_signal(signal.SIGTERM)
        code, out = processes.finish(waiter, 20)
        assert time.monotonic() - asked < 10, "materialize took too long to stop"
        assert code == 130, out[-3000:]
        assert "its runs are marked canceled" in out
        assert [r.status for r in runs(platform) if r.run_id in {w.run_id for w in waiting}] == [dg.DagsterRunStatus.CANCELED]
        assert stale_slot_holders(platform) == []
        code, out = processes.finish(holder, 600)  # the live run was not disturbed
        assert code == 0, out[-4000:]
    finally:
        processes.kill_group(holder)


def start_up(platform: TempPlatform, port: int, log_name: str):
    proc = cli(platform, "up", "--port", str(port), log_name=log_name)
    return proc


def active_run(platform: TempPlatform, not_in: set[str]) -> dg.DagsterRun | None:
    candidates = [r for r in runs(platform, [dg.DagsterRunStatus.STARTED]) if r.run_id not in not_in]
    return candidates[0] if candidates else None


def wait_for_stage(platform: TempPlatform, proc, stage: str, not_in: set[str], timeout: float = 400) -> dg.DagsterRun:
    reached = STAGES[stage]

    def at_stage() -> dg.DagsterRun | None:
        for run in runs(platform, [dg.DagsterRunStatus.STARTED]):
            if run.run_id not in not_in and reached(platform, run.run_id, processes.output_of(proc)):
                return run
        return None

    return wait_until(at_stage, timeout, f"a run reached {stage}", proc)


def wait_until_quiet(platform: TempPlatform, proc, timeout: float = 600, quiet_for: float = 45) -> None:
    """Every asset materialized and no run open for ``quiet_for`` s (longer than an automation tick)."""
    expected = {"fct_orders", "churn_scores", "revenue_forecast", "metric_anomalies", "experiment_results"}
    deadline, quiet_since = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"`up` exited:\n{processes.output_of(proc)[-4000:]}"
        with instance_of(platform) as instance:
            missing = {k for k in expected if instance.get_latest_materialization_event(dg.AssetKey(k)) is None}
            open_runs = instance.get_run_records(filters=dg.RunsFilter(statuses=ACTIVE))
        if missing or open_runs:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > quiet_for:
            return
        time.sleep(1)
    raise AssertionError(f"the platform never went quiet: missing {missing}, open runs {len(open_runs)}\n{processes.output_of(proc)[-4000:]}")


def kill_everything(platform: TempPlatform, proc) -> None:
    """kill -9 of `up`, `dagster dev` (its own process group) and all they started, at once."""
    pids = [int(line.split(":", 1)[0]) for line in processes.surviving_processes(platform)]
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    proc.wait(timeout=30)


def stop(proc) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except Exception:  # noqa: BLE001 - then it is killed below
            pass
    processes.kill_group(proc)


def test_run_workers_killed_under_dagster_dev_are_retried(history_landing, uninterrupted, tmp_path):
    """Under `up`, the run worker (not the server) killed with -9 in ingestion, then the retry's in
    dbt, then an ML run's: each dead run's slot is free within 60 s, and the platform finishes the
    work by itself (run retries, automation)."""
    platform = new_platform(tmp_path / "platform", history_landing)
    proc = start_up(platform, free_port(), "up")
    killed: set[str] = set()
    try:
        for stage in STAGES:
            run = wait_for_stage(platform, proc, stage, killed)
            with instance_of(platform) as instance:
                pid, _ = recovery.run_process(instance, run)
            os.kill(pid, signal.SIGKILL)
            killed.add(run.run_id)
            wait_until(lambda: stale_slot_holders(platform) == [], RECOVERY_SECONDS, f"the slot of the run killed in {stage} is free", proc)
            wait_until(lambda: not {r.run_id for r in runs(platform, recovery.ACTIVE)} & killed, RECOVERY_SECONDS, "the dead run is closed", proc)
        wait_until_quiet(platform, proc)
        statuses = {r.run_id: r.status for r in runs(platform)}
        assert all(statuses[k] == dg.DagsterRunStatus.FAILURE for k in killed), statuses
    finally:
        stop(proc)
    assert processes.surviving_processes(platform) == []
    assert_recovered_to(platform, uninterrupted)


def test_dagster_dev_killed_as_a_whole_recovers_on_the_next_up(history_landing, uninterrupted, tmp_path):
    """`dagster dev` and everything it started killed with -9 (a crashed machine, a container OOM),
    in ingestion, in dbt, in ML; each next `up` recovers the dead run before it serves, and the
    platform then finishes the work by itself."""
    platform = new_platform(tmp_path / "platform", history_landing)
    port = free_port()
    killed: set[str] = set()
    proc = start_up(platform, port, "up_0")
    try:
        for number, stage in enumerate(STAGES, start=1):
            run = wait_for_stage(platform, proc, stage, killed)
            kill_everything(platform, proc)
            wait_until(lambda: processes.surviving_processes(platform) == [], 15, "every process of `up` died")
            killed.add(run.run_id)
            started = time.monotonic()
            proc = start_up(platform, port, f"up_{number}")
            wait_until(partial(said, proc, f"recovered run {run.run_id[:8]}"), RECOVERY_SECONDS, f"`up` recovered the run killed in {stage}", proc)
            assert time.monotonic() - started < RECOVERY_SECONDS
            assert stale_slot_holders(platform) == []
        wait_until_quiet(platform, proc)
    finally:
        stop(proc)
    assert processes.surviving_processes(platform) == []
    assert_recovered_to(platform, uninterrupted)


def test_sigterm_stops_up_with_its_runs_canceled(history_landing, tmp_path):
    """SIGTERM of `up` while a run builds the dbt models: the run ends CANCELED with its slot freed,
    and no process of the platform (UI, daemon, code server, run worker, dbt) is left."""
    platform = new_platform(tmp_path / "platform", history_landing)
    proc = start_up(platform, free_port(), "up")
    try:
        run = wait_for_stage(platform, proc, "dbt", set())
        asked = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code, out = processes.finish(proc, 120)
        assert code == 0, out[-4000:]
        assert time.monotonic() - asked < 90
        assert f"canceling run {run.run_id[:8]}" in out
    finally:
        processes.kill_group(proc)
    assert processes.surviving_processes(platform) == []
    assert [r.status for r in runs(platform) if r.run_id == run.run_id] == [dg.DagsterRunStatus.CANCELED]
    assert runs(platform, recovery.ACTIVE) == []
    assert stale_slot_holders(platform) == []
    assert invariants.exactly_once_violations(platform) == []
