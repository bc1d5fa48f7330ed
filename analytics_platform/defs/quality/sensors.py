"""Sensors that turn failures into alerts (see ``alerts.py`` for where alerts go).

- ``alert_on_run_failure``: every failed run of the code location, with the failing step's error.
- ``alert_on_check_failure``: every failed asset check evaluation (dbt tests, ingestion checks,
  metric thresholds) of the runs that finished since the last tick, whether the run failed or
  not; the cursor is the last such run's update time, so each failure alerts once. (Read per
  run: Dagster's default SQLite event log is sharded by run, and a storage id is not a cursor
  across runs there.) Threshold checks are routed to the channel their seed row names; other
  checks to ``webhook``.
"""

from datetime import UTC, datetime, timedelta

import dagster as dg
from dagster._core.definitions.asset_checks.asset_check_evaluation import AssetCheckEvaluation

from analytics_platform.defs.quality.alerts import Alert, send_alerts
from analytics_platform.resources import WarehouseResource

RUN_BATCH = 50
FINISHED = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]
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
    description="Alert (alerts.log, webhook) when any run fails.",
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


def _check_alert(entry: dg.EventLogEntry) -> Alert | None:
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
    description="Alert (alerts.log, webhook) on every failed asset check evaluation.",
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def alert_on_check_failure(context: dg.SensorEvaluationContext, warehouse: WarehouseResource) -> dg.SensorResult:
    after = datetime.fromisoformat(context.cursor) if context.cursor else datetime.now(UTC) - FIRST_TICK_LOOKBACK
    runs = context.instance.get_run_records(
        filters=dg.RunsFilter(statuses=FINISHED, updated_after=after),
        order_by="update_timestamp", ascending=True, limit=RUN_BATCH,
    )
    if not runs:
        return dg.SensorResult(skip_reason=dg.SkipReason("no finished runs"), cursor=context.cursor)
    evaluations = [e for r in runs for e in context.instance.all_logs(
        r.dagster_run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)]
    alerts = [a for a in (_check_alert(e) for e in evaluations) if a]
    delivered = send_alerts(alerts, warehouse.settings)
    context.log.info(f"{len(runs)} run(s), {len(evaluations)} check evaluation(s), {len(alerts)} failed: "
                     f"{len(delivered['log'])} alerted")
    return dg.SensorResult(cursor=runs[-1].update_timestamp.isoformat())
