"""Dagster wiring of the ML layer: one module per asset family (group ``ml``)."""
