"""The ML layer's definitions. Merge into the platform with ``ml_assets.definitions.defs``.

One folder per asset family, its assets in ``<family>/assets.py`` (see ``ml_assets/README.md``).
Needs the ``warehouse`` resource (bound in ``analytics_platform/definitions.py``); MLflow keeps its
store under the warehouse settings' ``mlflow_dir``.
"""

import dagster as dg

from ml_assets.anomalies.assets import metric_anomalies
from ml_assets.churn.assets import churn_model, churn_scores, customer_features
from ml_assets.churn.checks import champion_challenger, feature_drift
from ml_assets.churn.retrain import churn_retrain_job, churn_retrain_sensor
from ml_assets.experiments.assets import experiment_results
from ml_assets.forecast.assets import revenue_forecast

ASSETS = [customer_features, churn_model, churn_scores, revenue_forecast, metric_anomalies, experiment_results]
CHECKS = [feature_drift, champion_challenger]

defs = dg.Definitions(
    assets=ASSETS,
    asset_checks=CHECKS,
    jobs=[churn_retrain_job],
    sensors=[churn_retrain_sensor],
)
