"""ML layer of the analytics platform: churn model (MLflow), forecast, anomalies, experiments.

One folder per asset family, laid out like ``analytics_platform/defs/``: the Dagster assets in
``<family>/assets.py``, the algorithms beside them (pure functions, no Dagster), what the families
share in ``common/``; everything is assembled in ``ml_assets.definitions.defs``.

=================================================  =========================
asset / check / sensor                             file
=================================================  =========================
customer_features, churn_model, churn_scores       ``churn/assets.py``
feature_drift, champion_challenger (checks)        ``churn/checks.py``
churn_retrain_sensor, job churn_retrain            ``churn/retrain.py``
revenue_forecast                                   ``forecast/assets.py``
metric_anomalies                                   ``anomalies/assets.py``
experiment_results, no_sample_ratio_mismatch       ``experiments/assets.py``
=================================================  =========================

Algorithms: ``churn/{features,training,registry,scoring,drift}.py``, ``forecast/model.py``,
``anomalies/detection.py``, ``experiments/analysis.py``. See README.md.
"""
