"""A/B experiments: ``experiment_results`` in ``assets.py``, the statistics in ``analysis.py``."""
