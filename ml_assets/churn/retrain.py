"""``churn_retrain_sensor`` and job ``churn_retrain``: when the churn model retrains, beyond its
own automation condition.

``churn_model``'s automation condition (``assets.py``: ``retrain_condition``) trains it when
it is missing, every Monday 05:00 UTC and when its code version changes; a new day of data alone
does not retrain it (``churn_scores`` scores the new features with the champion).

``churn_retrain_sensor`` adds the data-driven triggers: an hourly look at the warehouse requests
job ``churn_retrain`` (features, model with its blocking champion/challenger check, scores) when
the latest ``feature_drift`` evaluation found a significant shift (PSI > 0.25) against the
champion, when the data has advanced ``NEW_DATA_DAYS`` days past the end of the latest training
data, or when a trained model exists but none is champion. "Latest training" counts a refused
challenger: retraining on nearly the same data would be refused again, so neither rule fires
again until ``NEW_DATA_DAYS`` more days have arrived. The run key names the trigger and the
state it saw, so each condition starts one run, not one per tick.
"""

import datetime as dt
from dataclasses import dataclass

import dagster as dg

from analytics_platform.resources import WarehouseResource
from ml_assets.churn import drift, registry
from ml_assets.churn.assets import FEATURES_TABLE, churn_model, churn_scores, customer_features
from ml_assets.churn.checks import DRIFT_TABLE
from ml_assets.common import store

NEW_DATA_DAYS = 14

churn_retrain_job = dg.define_asset_job(
    "churn_retrain",
    selection=dg.AssetSelection.assets(customer_features, churn_model, churn_scores),
    description="Rebuild churn features, retrain and register the model, gate it against the champion, rescore.",
)


@dataclass(frozen=True)
class RetrainState:
    champion_version: str | None
    champion_data_end: dt.date | None
    data_end: dt.date | None
    drift_max_psi: float | None
    drift_reference_version: str | None
    latest_version: str | None = None  # newest registered version, a refused challenger included
    latest_data_end: dt.date | None = None


def retrain_reasons(state: RetrainState, new_data_days: int = NEW_DATA_DAYS) -> list[str]:
    """Pure decision: why (if at all) the churn model should be retrained now."""
    if state.data_end is None:
        return []
    tried_version = state.latest_version or state.champion_version
    tried_end = state.latest_data_end or state.champion_data_end
    reasons = []
    if state.champion_version is None:
        reasons.append("no champion model yet")
    if (state.drift_max_psi is not None and state.drift_max_psi > drift.SIGNIFICANT
            and state.drift_reference_version == state.champion_version == tried_version):
        reasons.append(f"feature drift: max PSI {state.drift_max_psi:.2f} > {drift.SIGNIFICANT}")
    if tried_end and (state.data_end - tried_end).days >= new_data_days:
        reasons.append(f"{(state.data_end - tried_end).days} days of new data since the latest training (v{tried_version})")
    return reasons


def read_state(warehouse: WarehouseResource) -> RetrainState:
    champ = registry.champion(warehouse.settings.mlflow_store)
    newest = registry.latest(warehouse.settings.mlflow_store)

    def data_end_of(version: registry.RegisteredVersion | None) -> dt.date | None:
        return dt.date.fromisoformat(version.tags["data_end"]) if version and version.tags.get("data_end") else None

    data_end = psi = ref_version = None
    with warehouse.connect(read_only=True) as con:
        if store.table_exists(con, store.SCHEMA, FEATURES_TABLE):
            value = con.execute(f"select max(cutoff) from {store.table_name(FEATURES_TABLE)} where split = 'score'").fetchone()[0]
            data_end = value.date() if value else None
        if store.table_exists(con, store.SCHEMA, DRIFT_TABLE):
            row = con.execute(
                f"select max(psi), any_value(model_version) from {store.table_name(DRIFT_TABLE)} "
                f"where evaluated_at = (select max(evaluated_at) from {store.table_name(DRIFT_TABLE)})").fetchone()
            psi, ref_version = (row[0], row[1]) if row else (None, None)
    return RetrainState(champ.version if champ else None, data_end_of(champ), data_end, psi, ref_version,
                        newest.version if newest else None, data_end_of(newest))


@dg.sensor(
    name="churn_retrain_sensor",
    job=churn_retrain_job,
    minimum_interval_seconds=3600,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Retrains the churn model on feature drift, on 14 days of data no trained version has seen, "
                "or when a trained model exists but none is champion.",
)
def churn_retrain_sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
    if context.instance.get_latest_materialization_event(churn_model.key) is None:
        return dg.SkipReason("churn_model was never trained: its automation condition trains it once "
                             "customer_features exists")
    state = read_state(warehouse)
    reasons = retrain_reasons(state)
    if not reasons:
        return dg.SkipReason(f"no retrain needed (champion v{state.champion_version}, data to {state.data_end}, "
                             f"latest max PSI {state.drift_max_psi})")
    key = f"churn-retrain:{state.champion_version}:{state.data_end}:{'|'.join(r.split(':')[0] for r in reasons)}"
    return dg.RunRequest(run_key=key, tags={"ml/retrain_reason": "; ".join(reasons)[:200]})
