"""Deterministic generator of an online shop's landing data and its ground truth.

``generate(seed, scale, days, start_date) -> ShopData`` simulates the shop
in memory; ``write_landing(data, out_dir)`` writes the daily landing files
described by ``defs/ingestion/contracts`` plus ``_ground_truth.json``.
Nothing here imports Dagster, so tests and scripts can use it freely.
"""

from __future__ import annotations

from .generate import ShopData, generate
from .writer import write_landing

__all__ = ["ShopData", "generate", "write_landing"]
