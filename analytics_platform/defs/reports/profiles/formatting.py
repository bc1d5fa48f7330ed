"""Numbers and values as people read them in insights, tables and chart labels."""

from __future__ import annotations

import math
from typing import Any


def median_label(p: dict[str, Any]) -> str:
    """"median", or how it is approximate: from a sample of the table's rows."""
    sample = (p.get("quantiles_from") or {}).get("sample")
    return f"median (≈, sample of {p['profiled_rows']:,} rows)" if sample else "median"


def num(value: Any) -> str:
    """12,345 · 29.6M · 1.23B · 148.3 · 2.41 · 0.0123 — short, but never rounded to a lie of scale."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}" if abs(value) < 10_000_000 else _scaled(float(value))
    x = float(value)
    if not math.isfinite(x):
        return str(x)
    if abs(x) >= 10_000_000:
        return _scaled(x)
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if abs(x) >= 100:
        return f"{x:,.1f}"
    if abs(x) >= 1 or x == 0:
        return f"{x:.2f}"
    return f"{x:.3g}"


def _scaled(x: float) -> str:
    for factor, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M")):
        if abs(x) >= factor:
            return f"{x / factor:.3g}{suffix}"
    return f"{x:,.0f}"


def whole(value: Any) -> str:
    """A value of an integer column (stored as DOUBLE in the stats) without decimals."""
    return (
        f"{int(value):,}"
        if isinstance(value, (int, float)) and not isinstance(value, bool) and float(value).is_integer() and abs(value) < 1e15
        else num(value)
    )


def pct(share: float, digits: int = 1) -> str:
    """A share (0..1) as a percentage; tiny non-zero shares keep two significant digits (0.0042%)."""
    if 0 < abs(share) < 0.5 * 10 ** -(digits + 2):
        return f"{100 * share:.2g}%"
    return f"{100 * share:.{digits}f}%"


def change(pct_change: float) -> str:
    """+45.2% · −12.0% · +129,842% (×1,299)."""
    if abs(pct_change) >= 1000:
        return f"{pct_change:+,.0f}% (×{1 + pct_change / 100:,.0f})"
    return f"{pct_change:+.1f}%"


def count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def value(v: Any, limit: int = 40) -> str:
    """A category value quoted for a sentence, shortened if long."""
    text = "(empty)" if v is None else str(v)
    return f"“{text if len(text) <= limit else text[: limit - 1] + '…'}”"


def ident(name: str) -> str:
    return f"`{name}`"
