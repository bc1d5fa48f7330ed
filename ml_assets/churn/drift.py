"""Feature drift by the Population Stability Index (PSI).

The reference is the distribution of each model feature in the rows a model was trained on:
decile bin edges and shares for numerics, shares per level for categoricals. It is stored with
the model (an MLflow artifact), so drift is always measured against what *the champion* saw.

PSI = sum over bins (cur - ref) * ln(cur / ref); rule of thumb: < 0.1 stable, 0.1-0.25 moderate,
> 0.25 significant shift. Empty bins get a small floor share so the logarithm stays finite.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from ml_assets.churn.features import CATEGORICAL, NUMERIC

BINS = 10
FLOOR = 1e-4
MODERATE, SIGNIFICANT = 0.1, 0.25


def reference(frame: pl.DataFrame, bins: int = BINS) -> dict:
    """JSON-able reference distributions of the model features in ``frame``."""
    out: dict[str, dict] = {}
    for name in NUMERIC:
        values = frame[name].cast(pl.Float64).drop_nulls().to_numpy()
        edges = np.unique(np.quantile(values, np.linspace(0, 1, bins + 1)[1:-1])) if values.size else np.array([])
        out[name] = {"kind": "numeric", "edges": edges.tolist(), "shares": _numeric_shares(values, edges).tolist()}
    for name in CATEGORICAL:
        counts = frame[name].cast(pl.Utf8).fill_null("unknown").value_counts()
        total = max(int(counts["count"].sum()), 1)
        out[name] = {"kind": "categorical",
                     "shares": {str(k): c / total for k, c in zip(counts[name].to_list(), counts["count"].to_list(), strict=False)}}
    return {"rows": frame.height, "features": out}


def _numeric_shares(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    # bins (-inf, e0], (e0, e1], ..., (e_last, inf): right-closed, so a spike at one value keeps one bin
    idx = np.searchsorted(edges, values, side="left")
    counts = np.bincount(idx, minlength=len(edges) + 1).astype(float)
    return counts / max(values.size, 1)


def _psi(ref: np.ndarray, cur: np.ndarray) -> float:
    ref, cur = np.maximum(ref, FLOOR), np.maximum(cur, FLOOR)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def psi(ref: dict, current: pl.DataFrame) -> pl.DataFrame:
    """PSI per feature of ``current`` against a ``reference()``, worst first."""
    rows = []
    for name, spec in ref["features"].items():
        if name not in current.columns:
            continue
        if spec["kind"] == "numeric":
            values = current[name].cast(pl.Float64).drop_nulls().to_numpy()
            edges = np.asarray(spec["edges"], dtype=float)
            value = _psi(np.asarray(spec["shares"]), _numeric_shares(values, edges))
        else:
            counts = current[name].cast(pl.Utf8).fill_null("unknown").value_counts()
            total = max(int(counts["count"].sum()), 1)
            cur = {str(k): c / total for k, c in zip(counts[name].to_list(), counts["count"].to_list(), strict=False)}
            levels = sorted(set(spec["shares"]) | set(cur))
            value = _psi(np.array([spec["shares"].get(k, 0.0) for k in levels]), np.array([cur.get(k, 0.0) for k in levels]))
        rows.append({"feature": name, "psi": value, "status": status(value)})
    return pl.DataFrame(rows, schema={"feature": pl.Utf8, "psi": pl.Float64, "status": pl.Utf8}).sort("psi", descending=True)


def status(value: float) -> str:
    return "significant" if value > SIGNIFICANT else "moderate" if value > MODERATE else "stable"
