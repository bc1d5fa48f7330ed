"""The ``run_recovery`` sensor: while ``dagster dev`` runs, dead runs are closed and their slots freed.

Covers what happens while the platform is up (a run worker or a ``materialize`` killed, OOM);
``up`` and ``materialize`` do the same once when they start. See ``analytics_platform/recovery.py``.
"""

import dagster as dg

from analytics_platform.recovery import recover


@dg.sensor(
    name="run_recovery",
    description="Marks runs whose process died as failed (run retries then re-execute them) and frees the pool slots they held.",
    minimum_interval_seconds=20,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def run_recovery(context: dg.SensorEvaluationContext) -> dg.SkipReason:
    recovered = recover(context.instance, log=context.log.warning)
    if not recovered:
        return dg.SkipReason("No dead runs, no slots held by ended runs.")
    return dg.SkipReason("; ".join(item.log_line() for item in recovered))
