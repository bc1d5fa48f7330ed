"""A/B test read-out: lift, confidence interval, p-value, SRM check and a plain verdict.

Input: one row per assigned unit (``experiment_id, customer_id, variant, converted, revenue``),
analysed as assigned (intention to treat). Per experiment, every non-control variant is compared
with the control on two metrics:

* ``conversion`` (share of units with >= 1 order in the experiment window): two-proportion
  z-test (pooled) for the p-value; the CI of the *relative* lift by the delta method on
  ln(p_t / p_c), so it is asymmetric like the ratio itself.
* ``revenue_per_user``: Welch's t-test for the p-value; relative-lift CI by the delta method on
  ln(mean_t / mean_c).

Sample ratio mismatch: chi-square goodness of fit of the assigned counts against the planned
split (equal by default); flagged when p < ``SRM_ALPHA`` (0.001, the usual strict level, because
it gates trust in everything else). A flagged SRM overrides the verdict.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
from scipy import stats

ALPHA = 0.05
SRM_ALPHA = 0.001
POWER = 0.8
METRICS = ("conversion", "revenue_per_user")

COLUMN_DOCS = {
    "experiment_id": "Experiment.",
    "metric": "conversion (share of assigned customers with an order in the window) or revenue_per_user (EUR).",
    "control_variant": "Variant used as the baseline.",
    "variant": "Variant compared with the control.",
    "n_control": "Assigned customers in the control.",
    "n_variant": "Assigned customers in the variant.",
    "control_value": "Metric in the control.",
    "variant_value": "Metric in the variant.",
    "absolute_diff": "variant_value - control_value.",
    "relative_lift": "variant_value / control_value - 1.",
    "ci_low": "Lower end of the 95% CI of the relative lift.",
    "ci_high": "Upper end of the 95% CI of the relative lift.",
    "p_value": "Two-sided p-value of the difference (z-test for conversion, Welch t-test for revenue).",
    "significant": "p_value < 0.05.",
    "mde_relative": "Smallest relative lift detectable with 80% power at this sample size.",
    "srm_p_value": "Chi-square p-value of the assigned counts against the planned equal split.",
    "srm_detected": "srm_p_value < 0.001: assignment is broken, results are not trustworthy.",
    "verdict": "Plain-language reading of the result.",
}


def srm(counts: dict[str, int], planned: dict[str, float] | None = None) -> tuple[float, float]:
    """(chi-square statistic, p-value) of the observed counts vs the planned split."""
    names = sorted(counts)
    observed = np.array([counts[n] for n in names], dtype=float)
    weights = np.array([(planned or {}).get(n, 1.0) for n in names], dtype=float)
    expected = observed.sum() * weights / weights.sum()
    if observed.sum() == 0 or len(names) < 2:
        return 0.0, 1.0
    chi2, p = stats.chisquare(observed, expected)
    return float(chi2), float(p)


def _conversion(c: np.ndarray, t: np.ndarray) -> dict:
    n_c, n_t = c.size, t.size
    p_c, p_t = c.mean(), t.mean()
    pooled = (c.sum() + t.sum()) / (n_c + n_t)
    se_pooled = math.sqrt(pooled * (1 - pooled) * (1 / n_c + 1 / n_t))
    p_value = 2 * stats.norm.sf(abs(p_t - p_c) / se_pooled) if se_pooled > 0 else 1.0
    if p_c > 0 and p_t > 0:
        se_log = math.sqrt((1 - p_t) / (n_t * p_t) + (1 - p_c) / (n_c * p_c))
    else:
        se_log = float("nan")
    mde = _z_power() * math.sqrt(p_c * (1 - p_c) * (1 / n_c + 1 / n_t)) / p_c if 0 < p_c < 1 else float("nan")
    return {"control_value": p_c, "variant_value": p_t, "p_value": p_value, "se_log": se_log, "mde_relative": mde}


def _revenue(c: np.ndarray, t: np.ndarray) -> dict:
    n_c, n_t = c.size, t.size
    m_c, m_t = c.mean(), t.mean()
    v_c, v_t = c.var(ddof=1), t.var(ddof=1)
    p_value = float(stats.ttest_ind(t, c, equal_var=False).pvalue) if v_c + v_t > 0 else 1.0
    se_log = math.sqrt(v_t / (n_t * m_t**2) + v_c / (n_c * m_c**2)) if m_c > 0 and m_t > 0 else float("nan")
    mde = _z_power() * math.sqrt(v_c * (1 / n_c + 1 / n_t)) / m_c if m_c > 0 else float("nan")
    return {"control_value": m_c, "variant_value": m_t, "p_value": p_value, "se_log": se_log, "mde_relative": mde}


def _z_power() -> float:
    return float(stats.norm.ppf(1 - ALPHA / 2) + stats.norm.ppf(POWER))


def compare(control: pl.DataFrame, variant: pl.DataFrame, metric: str) -> dict:
    """Statistics of one metric for one (control, variant) pair of unit-level frames."""
    if metric == "conversion":
        got = _conversion(control["converted"].cast(pl.Float64).to_numpy(), variant["converted"].cast(pl.Float64).to_numpy())
    elif metric == "revenue_per_user":
        got = _revenue(control["revenue"].cast(pl.Float64).to_numpy(), variant["revenue"].cast(pl.Float64).to_numpy())
    else:
        raise ValueError(f"unknown metric {metric}")
    ratio = got["variant_value"] / got["control_value"] if got["control_value"] else float("nan")
    z = stats.norm.ppf(1 - ALPHA / 2)
    lo = math.exp(math.log(ratio) - z * got["se_log"]) - 1 if ratio > 0 and math.isfinite(got["se_log"]) else float("nan")
    hi = math.exp(math.log(ratio) + z * got["se_log"]) - 1 if ratio > 0 and math.isfinite(got["se_log"]) else float("nan")
    return {
        "n_control": control.height, "n_variant": variant.height,
        "control_value": float(got["control_value"]), "variant_value": float(got["variant_value"]),
        "absolute_diff": float(got["variant_value"] - got["control_value"]),
        "relative_lift": float(ratio - 1), "ci_low": float(lo), "ci_high": float(hi),
        "p_value": float(got["p_value"]), "significant": bool(got["p_value"] < ALPHA),
        "mde_relative": float(got["mde_relative"]),
    }


def verdict(metric: str, variant: str, r: dict, srm_p: float) -> str:
    label = metric.replace("_", " ")
    ci = f"95% CI {r['ci_low']:+.1%} to {r['ci_high']:+.1%}"
    if srm_p < SRM_ALPHA:
        return (f"Do not trust this result: sample ratio mismatch (p = {srm_p:.1e}); the arms were not split as "
                f"planned, so the {label} difference ({r['relative_lift']:+.1%}) may be an artefact of assignment. "
                "Fix the assignment/logging and rerun.")
    if r["significant"]:
        direction = "raises" if r["relative_lift"] > 0 else "lowers"
        return (f"'{variant}' {direction} {label} by {r['relative_lift']:+.1%} ({ci}, p = {r['p_value']:.3g}): "
                f"a real effect at the 5% level.")
    return (f"No detectable difference in {label}: {r['relative_lift']:+.1%} ({ci}, p = {r['p_value']:.2g}). "
            f"With {r['n_control']:,} + {r['n_variant']:,} customers only lifts beyond about "
            f"{r['mde_relative']:.1%} would be detected reliably; keep it running or accept no effect.")


def analyse(units: pl.DataFrame, planned: dict[str, dict[str, float]] | None = None,
            control_name: str = "control") -> pl.DataFrame:
    """Results for every experiment, non-control variant and metric in ``units``."""
    rows = []
    for (experiment_id,), group in units.sort("experiment_id").group_by(["experiment_id"], maintain_order=True):
        variants = sorted(group["variant"].unique().to_list())
        control = control_name if control_name in variants else variants[0]
        counts = dict(group.group_by("variant").len().iter_rows())
        _, srm_p = srm(counts, (planned or {}).get(experiment_id))
        base = group.filter(pl.col("variant") == control)
        for variant in [v for v in variants if v != control]:
            arm = group.filter(pl.col("variant") == variant)
            for metric in METRICS:
                r = compare(base, arm, metric)
                rows.append({"experiment_id": experiment_id, "metric": metric, "control_variant": control,
                             "variant": variant, **r, "srm_p_value": srm_p, "srm_detected": srm_p < SRM_ALPHA,
                             "verdict": verdict(metric, variant, r, srm_p)})
    return pl.DataFrame(rows)
