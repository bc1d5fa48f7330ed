"""Headless one-shot: materialize every asset once, in dependency order, in this process.

Used by `python3 -m analytics_platform materialize`, CI smoke tests and benchmarks. Exit code 1
if a step fails or an ERROR-severity check fails (WARN-severity failures are listed, not fatal).
"""

from __future__ import annotations

import time

import dagster as dg


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
    graph = defs.resolve_asset_graph()
    unpartitioned = [k for k in graph.materializable_asset_keys if not graph.get(k).is_partitioned]
    job = defs.resolve_implicit_global_asset_job_def()
    started = time.perf_counter()
    result = job.execute_in_process(
        instance=instance, asset_selection=unpartitioned, raise_on_error=False,
        run_config={"ops": {"raw_tables": {"config": {"settle_seconds": 0.0}}}},
    )
    results = [result]
    # Partitioned assets (e.g. one profile per uncontracted dataset): every known partition.
    for key in graph.materializable_asset_keys:
        node = graph.get(key)
        if not node.is_partitioned:
            continue
        for partition in node.partitions_def.get_partition_keys(dynamic_partitions_store=instance):
            results.append(job.execute_in_process(instance=instance, asset_selection=[key], partition_key=partition, raise_on_error=False))
    failed_checks = [c for r in results for c in _failed_checks(r)]
    materialized = sum(len(r.get_asset_materialization_events()) for r in results)
    print(f"\n{materialized} materialization(s) in {time.perf_counter() - started:.1f} s; run(s): {', '.join(r.run_id for r in results)}")
    for asset, check, severity in failed_checks:
        print(f"  check failed [{severity}] {asset}: {check}")
    ok = all(r.success for r in results) and not any(sev == "ERROR" for *_, sev in failed_checks)
    print("OK" if ok else "FAILED")
    return 0 if ok else 1
