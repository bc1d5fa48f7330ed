"""Benchmark harness of the platform: `python -m bench --scales 1,10` (see bench/README.md)."""
