"""ML layer of the analytics platform: churn model (MLflow), forecast, anomalies, experiments.

Pure algorithms live in the top-level modules (``features``, ``churn_model``, ``registry``,
``scoring``, ``drift``, ``forecast``, ``anomalies``, ``experiments``); the Dagster assets in
``ml_assets.assets``; everything is assembled in ``ml_assets.definitions.defs``. See README.md.
"""
