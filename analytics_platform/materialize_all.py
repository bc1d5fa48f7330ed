"""Headless one-shot: materialize every asset once, in dependency order, in this process.

Used by `python3 -m analytics_platform materialize`, CI smoke tests and benchmarks. Exit code 1
if a step fails or an ERROR-severity check fails (WARN-severity failures are listed, not fatal).
"""

from __future__ import annotations

import os
import signal
import threading
import time

import dagster as dg
from dagster._utils.interrupts import check_captured_interrupt

from analytics_platform import recovery

# The next `materialize` is this one's retry; Dagster's retry daemon cannot re-execute an in-process run.
RUN_TAGS = {"dagster/max_retries": "0"}


def _failed_checks(result: dg.ExecuteInProcessResult) -> list[tuple[str, str, str]]:
    failed = []
    for event in result.get_asset_check_evaluations():
        if not event.passed:
            failed.append((event.asset_key.to_user_string(), event.check_name, event.severity.value))
    return failed


def run_everything(defs: dg.Definitions | None = None, instance: dg.DagsterInstance | None = None) -> int:
    if defs is None:
        from analytics_platform.definitions import defs
    instance = instance or dg.DagsterInstance.get()
    recovery.recover(instance)
    # SIGTERM (a service manager, `timeout`) stops like Ctrl-C.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    tags = {**RUN_TAGS, **recovery.process_tags()}
    threading.Thread(target=_stop_when_interrupted, args=(instance, tags), daemon=True).start()
    try:
        return _run(defs, instance, tags)
    finally:
        _close_own_runs(instance, tags)


def _stop_when_interrupted(instance: dg.DagsterInstance, tags: dict[str, str]) -> None:
    """Stop at once on Ctrl-C or SIGTERM, with the runs marked canceled and their slots freed.

    Dagster defers an interrupt to the next step boundary: a run waiting for a pool slot, or in a
    long dbt step, would not stop for minutes. Exiting mid-step is what kill -9 does, which the
    warehouse is built to survive (a file loads whole or not at all; dbt dies with this process).
    """
    while not check_captured_interrupt():
        time.sleep(0.2)
    _close_own_runs(instance, tags)
    print("materialize stopped: its runs are marked canceled and their pool slots freed.", flush=True)
    os._exit(130)


def _close_own_runs(instance: dg.DagsterInstance, tags: dict[str, str]) -> None:
    """Runs of this process that an interrupt left unfinished: canceled, their slots freed."""
    for record in instance.get_run_records(filters=dg.RunsFilter(tags=tags, statuses=recovery.ACTIVE)):
        recovery.cancel(instance, record.dagster_run, "materialize was stopped (SIGTERM or Ctrl-C).")
        print(f"canceled run {record.dagster_run.run_id[:8]}: materialize was stopped", flush=True)


def _run(defs: dg.Definitions, instance: dg.DagsterInstance, tags: dict[str, str]) -> int:
    graph = defs.resolve_asset_graph()
    unpartitioned = [k for k in graph.materializable_asset_keys if not graph.get(k).is_partitioned]
    job = defs.resolve_implicit_global_asset_job_def()
    started = time.perf_counter()
    result = job.execute_in_process(
        instance=instance, asset_selection=unpartitioned, raise_on_error=False, tags=tags,
        run_config={"ops": {"raw_tables": {"config": {"settle_seconds": 0.0, "every_table": True}}}},
    )
    results = [result]
    # Partitioned assets (one profile, model, dashboard… per uncontracted dataset): one run per known
    # partition with every asset of that partitioning, so they run in dependency order.
    by_partitioning: dict[dg.PartitionsDefinition, list[dg.AssetKey]] = {}
    for key in graph.materializable_asset_keys:
        node = graph.get(key)
        if node.is_partitioned and node.partitions_def is not None:
            by_partitioning.setdefault(node.partitions_def, []).append(key)
    for partitions_def, keys in by_partitioning.items():
        for partition in partitions_def.get_partition_keys(dynamic_partitions_store=instance):
            results.append(job.execute_in_process(instance=instance, asset_selection=keys, partition_key=partition, raise_on_error=False, tags=tags))
    failed_checks = [c for r in results for c in _failed_checks(r)]
    materialized = sum(len(r.get_asset_materialization_events()) for r in results)
    print(f"\n{materialized} materialization(s) in {time.perf_counter() - started:.1f} s; run(s): {', '.join(r.run_id for r in results)}")
    for asset, check, severity in failed_checks:
        print(f"  check failed [{severity}] {asset}: {check}")
    ok = all(r.success for r in results) and not any(sev == "ERROR" for *_, sev in failed_checks)
    print("OK" if ok else "FAILED")
    return 0 if ok else 1
