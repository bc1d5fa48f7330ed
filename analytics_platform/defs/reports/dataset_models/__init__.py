"""Any dataset → a model and its explanation (the profile's second half).

For each uncontracted dataset with a target (named in ``datasets/<dataset>.yml``, or proposed by the
profile when one column is clearly an outcome): columns chosen by role (``features.py``), a
baseline and scikit-learn families compared by cross-validation (``training.py``), the best
explained (``explain.py``), logged to MLflow (``tracking.py``) and shown on the dataset's
dashboard (``charts.py``). ``analysis.py`` runs the steps; ``assets.py`` is the Dagster asset.
"""
