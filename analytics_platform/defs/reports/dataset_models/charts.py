"""The model section of a dataset's dashboard, from the stored analysis alone (no sklearn).

Key figures (target, winner, cross-validated score against the baseline, rows), the plain-language
explanation, and three kinds of chart: each family's score per fold, permutation importances, and
the partial dependence of the top columns. Without a model, the reason and how to name a target.
"""

from __future__ import annotations

from typing import Any

from analytics_platform.defs.reports.page import MAIN, MUTED, PALETTE, Chart, Kpi, Notes, Section
from analytics_platform.defs.reports.profiles.dashboard import WIDE_CARD_WIDTH, Figure, laid_out, new_figure, plotly_text

MAX_BARS = 15


def comparison_figure(r: dict[str, Any]) -> Figure:
    c = r["comparison"]
    names = list(c["means"])
    fig = new_figure({
        "type": "bar", "x": [plotly_text(n) for n in names], "y": [c["means"][n] for n in names],
        "marker": {"color": [MAIN if n == c["best"] else MUTED for n in names]},
        "error_y": {"type": "data", "array": [_spread(c["scores"][n]) for n in names], "visible": True},
        "hovertemplate": "%{x}: %{y:.3f} (mean of the folds; bar: their spread)<extra></extra>",
    })
    return laid_out(fig, f"Cross-validated {r['metric']} by model family", showlegend=False, xaxis={"type": "category"},
                   yaxis={"title": {"text": plotly_text(r["metric"])}})


def _spread(scores: list[float]) -> float:
    mean = sum(scores) / len(scores)
    return (sum((s - mean) ** 2 for s in scores) / len(scores)) ** 0.5


def importance_figure(r: dict[str, Any]) -> Figure:
    top = r["importance"][:MAX_BARS][::-1]
    fig = new_figure({
        "type": "bar", "orientation": "h", "x": [t["mean"] for t in top], "y": [plotly_text(t["feature"]) for t in top],
        "error_x": {"type": "data", "array": [t["std"] for t in top], "visible": True}, "marker": {"color": MAIN},
        "hovertemplate": "%{y}: shuffling it lowers " + plotly_text(r["metric"]) + " by %{x:.3f}<extra></extra>",
    })
    return laid_out(fig, f"What the model relies on: drop of {r['metric']} when a column is shuffled", showlegend=False,
                   yaxis={"type": "category"}, margin={"l": 140, "r": 16, "t": 44, "b": 40})


def dependence_figure(r: dict[str, Any], d: dict[str, Any], color: str) -> Figure:
    what = f"P({r['target']} = {d['class']})" if d.get("class") is not None else f"predicted {r['target']}"
    x = [plotly_text(v) for v in d["grid"]]
    trace = ({"type": "bar", "x": x, "y": d["values"], "marker": {"color": color}} if d["kind"] == "category"
             else {"type": "scatter", "x": d["grid"], "y": d["values"], "mode": "lines+markers", "line": {"color": color, "width": 2}})
    return laid_out(new_figure(trace), f"{what} as {d['feature']} changes (partial dependence)", showlegend=False,
                   xaxis={"title": {"text": plotly_text(d["feature"])}, **({"type": "category"} if d["kind"] == "category" else {})},
                   yaxis={"title": {"text": plotly_text(what)}})


def section(r: dict[str, Any] | None) -> Section:
    if r is None:
        return Section("Model", [Notes(["No model analysis for this dataset yet: it follows the profile (asset `reports/dataset_model`)."])])
    if "comparison" not in r:
        return Section("Model", [Notes([r["reason"]])])
    kpis = [
        Kpi("target" + (" (proposed)" if r["target_source"] == "proposed" else ""), r["target"]),
        Kpi("best model", r["model_family"]),
        Kpi(f"CV {r['metric']}", f"{r['cv_score']:.2f}", delta=f"baseline {r['baseline_score']:.2f}",
            trend="up" if r["cv_score"] > r["baseline_score"] else "flat"),
        Kpi("rows" + (" (random sample)" if r["sampled"] else ""), f"{r['rows']:,}" + (f" of {r['available']:,}" if r["sampled"] else "")),
    ]
    notes = [*r["explanation"], r["target_reason"][0].upper() + r["target_reason"][1:] + ("" if r["target_reason"].endswith(".") else ".")]
    if r.get("left_out"):
        notes.append("Not used as features: " + "; ".join(f"`{k}` ({v})" for k, v in r["left_out"].items()) + ".")
    blocks: list[Any] = [Notes(notes), Chart(comparison_figure(r))]
    if r.get("importance"):
        blocks.append(Chart(importance_figure(r)))
    blocks += [Chart(dependence_figure(r, d, PALETTE[i % len(PALETTE)])) for i, d in enumerate(r.get("dependence") or [])]
    lead = f"{r['model_family']} on `{r['target']}`, trained {r['trained_at']} UTC" + (f", MLflow run {r['mlflow']['run_id']}" if r.get("mlflow") else "")
    return Section("Model", blocks, kpis=kpis, card_width=WIDE_CARD_WIDTH, lead=lead)
