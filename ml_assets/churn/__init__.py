"""Churn: ``customer_features`` → ``churn_model`` (MLflow) → ``churn_scores``; assets in ``assets.py``."""
