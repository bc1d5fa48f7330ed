"""Small static charts (PNG) for MLflow artifacts and inline Dagster metadata."""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import polars as pl  # noqa: E402


def _png(fig, dpi: int = 80) -> bytes:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    return buf.getvalue()


def md_image(png: bytes, alt: str) -> str:
    """Markdown with the PNG inlined (the Dagster UI renders data URIs)."""
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode()})"


def roc_curve(fpr: np.ndarray, tpr: np.ndarray, auc: float) -> bytes:
    fig, ax = plt.subplots(figsize=(4, 4))
    ax.plot(fpr, tpr, label=f"model (AUC {auc:.3f})")
    ax.plot([0, 1], [0, 1], "--", color="grey", label="chance")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC, validation")
    ax.legend(loc="lower right")
    return _png(fig)


def confusion(cm: np.ndarray, threshold: float) -> bytes:
    fig, ax = plt.subplots(figsize=(3.6, 3.2))
    ax.imshow(cm, cmap="Blues")
    for (i, j), v in np.ndenumerate(cm):
        ax.text(j, i, f"{v:,}", ha="center", va="center", color="black")
    ax.set(xticks=[0, 1], yticks=[0, 1], xticklabels=["stays", "churns"], yticklabels=["stayed", "churned"],
           xlabel="predicted", ylabel="actual", title=f"threshold {threshold:.2f}")
    return _png(fig)


def importance(frame: pl.DataFrame, top: int = 12) -> bytes:
    f = frame.head(top).reverse()
    fig, ax = plt.subplots(figsize=(5, 0.3 * f.height + 1))
    ax.barh(f["feature"].to_list(), f["importance"].to_list(), xerr=f["std"].to_list(), color="#4c78a8")
    ax.set(xlabel="drop in validation AUC when shuffled", title="permutation importance")
    return _png(fig)


def forecast(history: pl.DataFrame, fc: pl.DataFrame, metric: str, tail_days: int = 90) -> bytes:
    h = history.tail(tail_days)
    f = fc.filter(pl.col("metric") == metric)
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.plot(h["date_day"].to_list(), h[metric].to_list(), color="black", lw=1, label="actual")
    ax.plot(f["date_day"].to_list(), f["forecast"].to_list(), color="#4c78a8", label="forecast")
    ax.fill_between(f["date_day"].to_list(), f["lower_95"].to_list(), f["upper_95"].to_list(), alpha=0.2,
                    color="#4c78a8", label="95% interval")
    ax.fill_between(f["date_day"].to_list(), f["lower_80"].to_list(), f["upper_80"].to_list(), alpha=0.3,
                    color="#4c78a8", label="80% interval")
    ax.set(title=f"{metric}: next {f.height} days")
    ax.legend(loc="upper left", fontsize=7)
    fig.autofmt_xdate()
    return _png(fig)


def anomalies(frame: pl.DataFrame, metric: str) -> bytes:
    f = frame.filter(pl.col("metric") == metric).sort("date_day")
    flagged = f.filter(pl.col("is_anomaly"))
    fig, ax = plt.subplots(figsize=(7, 2.6))
    ax.plot(f["date_day"].to_list(), f["value"].to_list(), color="black", lw=1, label="actual")
    ax.plot(f["date_day"].to_list(), f["expected"].to_list(), color="#4c78a8", lw=1, label="expected")
    ax.scatter(flagged["date_day"].to_list(), flagged["value"].to_list(), color="#e45756", zorder=3, label="anomaly")
    ax.set(title=metric)
    ax.legend(loc="upper left", fontsize=7)
    fig.autofmt_xdate()
    return _png(fig)
