"""The ML layer's definitions. Merge into the platform with ``ml_assets.definitions.defs``.

Needs the ``warehouse`` resource (bound in ``analytics_platform/definitions.py``); MLflow keeps its
store under the warehouse settings' ``mlflow_dir``.
"""

import dagster as dg

from ml_assets.assets.anomalies import metric_anomalies
from ml_assets.assets.churn import champion_challenger, churn_model, churn_scores, customer_features, feature_drift
from ml_assets.assets.experiments import experiment_results
from ml_assets.assets.forecast import revenue_forecast
from ml_assets.automation import churn_retrain_job, churn_retrain_sensor

ASSETS = [customer_features, churn_model, churn_scores, revenue_forecast, metric_anomalies, experiment_results]
CHECKS = [feature_drift, champion_challenger]

defs = dg.Definitions(
    assets=ASSETS,
    asset_checks=CHECKS,
    jobs=[churn_retrain_job],
    sensors=[churn_retrain_sensor],
)
