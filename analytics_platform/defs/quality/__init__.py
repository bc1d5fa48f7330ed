"""Data quality: alerting on failed runs and checks, and metric threshold checks on marts."""
