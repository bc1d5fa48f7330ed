"""Numbers as the dashboards show them: KPI tiles, table cells and chart notes."""

from __future__ import annotations

CURRENCY = "€"  # the shop's amounts are in EUR


def number(value: float | int | None, digits: int = 0) -> str:
    if value is None:
        return "–"
    value = float(value)
    for unit, suffix, starts_at in ((1e9, "B", 1e9), (1e6, "M", 1e6), (1e3, "k", 1e4)):
        if abs(value) >= starts_at:
            scaled = value / unit
            return f"{scaled:,.{1 if abs(scaled) < 100 else 0}f}{suffix}"
    return f"{value:,.{digits}f}"


def money(value: float | int | None) -> str:
    return "–" if value is None else ("-" if value < 0 else "") + CURRENCY + number(abs(value), 0 if abs(value) >= 100 else 2)


def percent(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value * 100:.{digits}f}%"


def change(current: float | None, previous: float | None, label: str, *, higher_is_better: bool = True) -> tuple[str | None, str]:
    """("+4.2% vs <label>", trend) for a KPI tile; trend colours it (up = good)."""
    if current is None or not previous:
        return None, "flat"
    ratio = current / previous - 1
    if abs(ratio) < 0.0005:
        return f"±0% vs {label}", "flat"
    good = (ratio > 0) == higher_is_better
    return f"{ratio * 100:+.1f}% vs {label}", "up" if good else "down"
