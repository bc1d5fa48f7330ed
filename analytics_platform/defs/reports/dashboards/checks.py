"""Asset check results, read from the Dagster instance (event log), for the data-quality report.

The latest execution of every check comes from ``get_latest_asset_check_execution_by_key``; the
history (evaluations per day) from the asset-check evaluation events of the last days. Which
checks exist comes from the code location when the run knows it (``context.repository_def``),
and from the event log otherwise, so checks that never ran are listed too where possible.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import dagster as dg
from dagster._core.definitions.asset_checks.asset_check_evaluation import AssetCheckEvaluation
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

HISTORY_DAYS = 30
HISTORY_LIMIT = 20_000
FINISHED_OK = {dg.DagsterRunStatus.SUCCESS}
FINISHED_BAD = {dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}

# status → badge kind (page.badge), in the order the report sorts them
STATUS_KIND = {
    "failed": "failed", "execution failed": "failed", "warning": "warn", "running": "other",
    "passed": "passed", "skipped": "other", "never run": "other",
}


@dataclass(frozen=True)
class CheckStatus:
    asset: str
    check: str
    group: str
    status: str  # one of STATUS_KIND
    severity: str | None
    evaluated_at: dt.datetime | None
    run_id: str | None
    description: str | None

    @property
    def kind(self) -> str:
        return STATUS_KIND[self.status]


@dataclass(frozen=True)
class CheckDay:
    day: dt.date
    passed: int
    warned: int
    failed: int


def defined_checks(context: dg.AssetExecutionContext) -> tuple[set[dg.AssetCheckKey], dict[dg.AssetKey, str]]:
    """Check keys and asset groups of the code location, when the run was launched from one."""
    try:
        graph = context.repository_def.asset_graph
    except Exception:  # noqa: BLE001 - in-process runs (tests, `materialize`) have no repository
        return set(), {}
    groups = {}
    for key in graph.get_all_asset_keys():
        try:
            groups[key] = graph.get(key).group_name
        except Exception:  # noqa: BLE001 - external/virtual assets
            continue
    return set(graph.asset_check_keys), groups


def group_of(key: dg.AssetKey, groups: dict[dg.AssetKey, str]) -> str:
    if key in groups and groups[key]:
        return groups[key]
    if len(key.path) > 1:
        return key.path[0]
    name = key.path[-1]
    return "staging" if name.startswith("stg_") else "intermediate" if name.startswith("int_") else "marts"


def _evaluation_records(instance: dg.DagsterInstance, since: dt.datetime) -> list[dg.EventLogRecord]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return list(instance.get_event_records(
            dg.EventRecordsFilter(event_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION, after_timestamp=since.timestamp()),
            limit=HISTORY_LIMIT,
            ascending=False,
        ))


def _evaluation(record) -> AssetCheckEvaluation | None:
    entry = record.event_log_entry if hasattr(record, "event_log_entry") else record
    data = entry.dagster_event.event_specific_data if entry is not None and entry.dagster_event else None
    return data if isinstance(data, AssetCheckEvaluation) else None


def history(records: Iterable[dg.EventLogRecord]) -> list[CheckDay]:
    counts: dict[dt.date, Counter] = {}
    for record in records:
        evaluation = _evaluation(record)
        if evaluation is None:
            continue
        day = dt.datetime.fromtimestamp(record.timestamp, dt.UTC).date()
        outcome = "passed" if evaluation.passed else ("warned" if evaluation.severity == dg.AssetCheckSeverity.WARN else "failed")
        counts.setdefault(day, Counter())[outcome] += 1
    return [CheckDay(d, c["passed"], c["warned"], c["failed"]) for d, c in sorted(counts.items())]


def _last_completed(instance: dg.DagsterInstance, key: dg.AssetCheckKey):
    history = instance.event_log_storage.get_asset_check_execution_history(
        key, limit=1, status={AssetCheckExecutionRecordStatus.SUCCEEDED, AssetCheckExecutionRecordStatus.FAILED})
    return history[0] if history else None


def collect(
    instance: dg.DagsterInstance, defined: set[dg.AssetCheckKey], groups: dict[dg.AssetKey, str], now: dt.datetime | None = None
) -> tuple[list[CheckStatus], list[CheckDay]]:
    """Latest status of every known check, and evaluations per day over ``HISTORY_DAYS``."""
    now = now or dt.datetime.now(dt.UTC)
    records = _evaluation_records(instance, now - dt.timedelta(days=HISTORY_DAYS))
    seen = {dg.AssetCheckKey(e.asset_key, e.check_name) for r in records if (e := _evaluation(r))}
    keys = sorted(defined | seen, key=lambda k: (k.asset_key.to_user_string(), k.name))
    latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(keys) if keys else {}
    planned_runs = {r.run_id for r in latest.values() if r.status == AssetCheckExecutionRecordStatus.PLANNED}
    run_status = {}
    if planned_runs:
        run_status = {r.run_id: r.status for r in instance.get_runs(filters=dg.RunsFilter(run_ids=sorted(planned_runs)))}
    statuses = []
    for key in keys:
        record = latest.get(key)
        if record is not None and record.status == AssetCheckExecutionRecordStatus.PLANNED:
            run = run_status.get(record.run_id)
            if run in FINISHED_OK:
                # the run did not evaluate it (nothing new to check): its last evaluation still stands
                record = _last_completed(instance, key) or record
        evaluation = _evaluation(record.event) if record and record.event else None
        severity = evaluation.severity.value if evaluation else None
        if record is None:
            status = "never run"
        elif record.status == AssetCheckExecutionRecordStatus.SUCCEEDED:
            status = "passed"
        elif record.status == AssetCheckExecutionRecordStatus.FAILED:
            status = "warning" if evaluation and evaluation.severity == dg.AssetCheckSeverity.WARN else "failed"
        else:  # planned: the run is still going, or ended without ever evaluating the check
            run = run_status.get(record.run_id)
            status = "execution failed" if run in FINISHED_BAD else "skipped" if run in FINISHED_OK else "running"
        statuses.append(CheckStatus(
            asset=key.asset_key.to_user_string(),
            check=key.name,
            group=group_of(key.asset_key, groups),
            status=status,
            severity=severity,
            evaluated_at=dt.datetime.fromtimestamp(record.create_timestamp, dt.UTC) if record else None,
            run_id=record.run_id if record else None,
            description=(evaluation.description if evaluation else None),
        ))
    order = list(STATUS_KIND)
    statuses.sort(key=lambda s: (order.index(s.status), s.group, s.asset, s.check))
    return statuses, history(records)
