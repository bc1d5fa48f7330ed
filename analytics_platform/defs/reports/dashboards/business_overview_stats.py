"""The statistics ``reports/business_overview`` computes in Python, on the aggregates it read."""

from __future__ import annotations

import math
from collections.abc import Sequence


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float, float]:
    """(rate, low, high): the share of successes with its Wilson score interval (95% for z = 1.96),
    which stays inside [0, 1] and behaves for small samples and rates near 0, unlike p ± z·se."""
    if not n:
        return 0.0, 0.0, 0.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return p, centre - half, centre + half


def trailing_mean(values: Sequence[float], window: int) -> list[float]:
    """Mean of each value and the ``window - 1`` before it (fewer at the start of the series)."""
    out = []
    for i in range(len(values)):
        part = values[max(0, i - window + 1):i + 1]
        out.append(sum(part) / len(part))
    return out


def relative_lift(rate: float, control_rate: float) -> float:
    """How much higher ``rate`` is than the control's, as a share (0.13 = 13% better)."""
    return rate / control_rate - 1
