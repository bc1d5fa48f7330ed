"""The ML layer's definitions: ``analytics_platform/definitions.py`` adds ``defs`` to the platform.

One folder per asset family, its assets in ``<family>/assets.py`` (see ``ml_assets/README.md``).
Needs the ``warehouse`` resource (bound in ``analytics_platform/definitions.py``); MLflow keeps its
store where the warehouse settings' ``mlflow_store`` says. ``ASSETS`` carry their code references (each
asset's function in ``<family>/assets.py``), so they are the same objects as in the platform.
"""

import dagster as dg

from analytics_platform.code_references import with_code_references
from ml_assets.anomalies.assets import metric_anomalies
from ml_assets.churn.assets import churn_model, churn_scores, customer_features
from ml_assets.churn.checks import champion_challenger, feature_drift
from ml_assets.churn.retrain import churn_retrain_job, churn_retrain_sensor
from ml_assets.experiments.assets import experiment_results
from ml_assets.forecast.assets import revenue_forecast

ASSETS = with_code_references([customer_features, churn_model, churn_scores, revenue_forecast, metric_anomalies, experiment_results])
CHECKS = [feature_drift, champion_challenger]

defs = dg.Definitions(
    assets=ASSETS,
    asset_checks=CHECKS,
    jobs=[churn_retrain_job],
    sensors=[churn_retrain_sensor],
)
