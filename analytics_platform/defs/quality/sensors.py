"""Sensors that turn failures into alerts (see ``alerts.py`` for where alerts go).

- ``alert_on_run_failure``: every failed run of the code location, with the failing step's error.
- ``alert_on_check_failure``: every failed asset check evaluation (dbt tests, ingestion checks,
  metric thresholds) since the last tick, read from the event log with a storage-id cursor, so
  each failure alerts exactly once, whether its run failed or not. Threshold checks are routed
  to the channel their seed row names; other checks to ``webhook``.
"""

import warnings
from datetime import UTC, datetime, timedelta

import dagster as dg
from dagster._core.definitions.asset_checks.asset_check_evaluation import AssetCheckEvaluation

from analytics_platform.defs.quality.alerts import Alert, send_alerts
from analytics_platform.resources import WarehouseResource

CHECK_BATCH = 200
FIRST_TICK_LOOKBACK = timedelta(days=1)


def _error_text(error) -> str:
    """The error's message and its causes' (the user's exception is usually the last cause)."""
    messages = []
    while error is not None and len(messages) < 5:
        messages.append(error.message.strip())
        error = error.cause
    return " <- ".join(m for m in messages if m)[:2000]


@dg.run_failure_sensor(
    name="alert_on_run_failure",
    description="Alert (meta.alerts, alerts.log, webhook) when any run fails.",
    monitor_all_code_locations=False,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
)
def alert_on_run_failure(context: dg.RunFailureSensorContext, warehouse: WarehouseResource) -> None:
    run = context.dagster_run
    error = context.failure_event.message if context.failure_event else ""
    step_errors = [
        f"{event.step_key}: {_error_text(event.event_specific_data.error)}"  # type: ignore[union-attr]
        for event in context.get_step_failure_events()
        if getattr(event.event_specific_data, "error", None)
    ]
    alert = Alert(
        kind="run_failure",
        title=f"Run of {run.job_name} failed",
        message="; ".join(step_errors) or error or "run failed",
        severity="ERROR",
        run_id=run.run_id,
        job_name=run.job_name,
        details={"tags": dict(run.tags), "step_errors": step_errors[:20]},
    )
    send_alerts([alert], warehouse.settings)
    context.log.info(f"alerted on failed run {run.run_id}")


def _check_alert(record: dg.EventLogRecord) -> Alert | None:
    entry = record.event_log_entry
    evaluation = entry.dagster_event.event_specific_data if entry.dagster_event else None
    if not isinstance(evaluation, AssetCheckEvaluation) or evaluation.passed:
        return None
    metadata = {k: getattr(v, "value", v) for k, v in (evaluation.metadata or {}).items()}
    threshold = evaluation.check_name.startswith("threshold_")
    asset = evaluation.asset_key.to_user_string()
    return Alert(
        kind="threshold" if threshold else "check_failure",
        title=f"Check {evaluation.check_name} failed on {asset}",
        message=evaluation.description or f"{evaluation.check_name} failed",
        severity=evaluation.severity.value,
        channel=str(metadata.get("alert_channel") or "webhook"),
        run_id=entry.run_id or None,
        job_name=entry.job_name,
        asset_key=asset,
        check_name=evaluation.check_name,
        details={k: v for k, v in metadata.items() if isinstance(v, (str, int, float, bool, type(None)))},
    )


@dg.sensor(
    name="alert_on_check_failure",
    description="Alert (meta.alerts, alerts.log, webhook) on every failed asset check evaluation.",
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def alert_on_check_failure(context: dg.SensorEvaluationContext, warehouse: WarehouseResource) -> dg.SensorResult:
    after = int(context.cursor) if context.cursor else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        records = context.instance.get_event_records(
            dg.EventRecordsFilter(
                event_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION,
                after_cursor=after,
                after_timestamp=None if after else (datetime.now(UTC) - FIRST_TICK_LOOKBACK).timestamp(),
            ),
            limit=CHECK_BATCH,
            ascending=True,
        )
    if not records:
        return dg.SensorResult(skip_reason=dg.SkipReason("no new check evaluations"), cursor=context.cursor)
    alerts = [a for a in (_check_alert(r) for r in records) if a]
    delivered = send_alerts(alerts, warehouse.settings)
    context.log.info(f"{len(records)} check evaluation(s), {len(alerts)} failed: {len(delivered['log'])} alerted")
    return dg.SensorResult(cursor=str(records[-1].storage_id))
