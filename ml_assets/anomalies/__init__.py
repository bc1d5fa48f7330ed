"""Metric anomalies: ``metric_anomalies`` and its alerts in ``assets.py``, the detector in ``detection.py``."""
