"""Explain the chosen model: which columns it relies on, and how the prediction moves with them.

- **permutation importance**, out of fold: each cross-validation fold's model (fitted on that
  fold's training rows) scores its own test rows with one column's values shuffled (``REPEATS``
  shuffles, up to ``IMPORTANCE_ROWS`` test rows over all folds); the drop of R² / balanced accuracy,
  averaged over folds and shuffles, is the column's importance (a category's one-hot columns
  together). Every row is scored by a model that did not see it, as in the comparison itself.
- **partial dependence** of the ``TOP`` most important columns on the model refitted on all rows
  (the one logged): the average prediction with the column set to each value of a grid (5th–95th
  percentile for numbers, the most frequent values for categories) and every other column as it is,
  on up to ``PD_ROWS`` rows. For classification, the probability of the class the column moves most
  (of the second class when there are two).

``sentences`` turns it all into plain language, each sentence with its numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.inspection import partial_dependence, permutation_importance

from analytics_platform.defs.reports.dataset_models.features import FeaturePlan
from analytics_platform.defs.reports.dataset_models.training import BASELINE, SEED, Comparison
from analytics_platform.defs.reports.profiles.formatting import num

REPEATS = 5
TOP = 3
PD_ROWS = 1_000
PD_GRID = 20
IMPORTANCE_ROWS = 5_000
MOST = 0.5  # share of the total importance above which one column "explains most"
TWINS = 0.8  # |Pearson r| above which two features can stand in for each other in the model
NEGLIGIBLE = 0.05  # a dependence smaller than this share of the target's spread (std; 1 for probabilities) "barely moves" it


@dataclass
class Explanation:
    model: Any  # the winner refitted on all rows (the one logged and whose dependence is shown)
    importance_rows: int  # held-out rows the importances were measured on
    importance: list[dict[str, Any]]  # [{feature, mean, std}], most important first
    target_spread: float  # standard deviation of the target (regression) or 1 (probabilities)
    dependence: list[dict[str, Any]] = field(default_factory=list)  # [{feature, kind, grid, values, class}]


def labels(frame: Any, p: FeaturePlan, task: str) -> Any:
    y = frame[p.target]
    return y.astype(str) if task == "classification" else y


def explain(frame: Any, p: FeaturePlan, c: Comparison) -> Explanation:
    from sklearn.base import clone

    X, y = frame[p.features], labels(frame, p, c.task)
    rng = np.random.default_rng(SEED)
    per_fold = IMPORTANCE_ROWS // len(c.fold_models)
    drops, measured = [], 0
    for model, test in zip(c.fold_models, c.fold_tests, strict=True):
        rows = np.sort(rng.choice(test, per_fold, replace=False)) if len(test) > per_fold else test
        result = permutation_importance(model, X.iloc[rows], y.iloc[rows], scoring=c.scoring, n_repeats=REPEATS, random_state=SEED)
        drops.append(result.importances)
        measured += len(rows)
    every = np.concatenate(drops, axis=1)  # features × (folds · repeats)
    importance = sorted(
        ({"feature": f, "mean": float(m), "std": float(s)} for f, m, s in zip(p.features, every.mean(axis=1), every.std(axis=1), strict=True)),
        key=lambda r: -r["mean"],
    )
    spread = float(np.std(y)) if c.task == "regression" else 1.0
    e = Explanation(clone(c.pipeline).fit(X, y), measured, importance, spread)
    sample = X.sample(min(PD_ROWS, len(X)), random_state=SEED)
    for r in [r for r in importance if r["mean"] > 0][:TOP]:
        e.dependence.append(_dependence(e.model, sample, r["feature"], p, c))
    return e


def _dependence(model: Any, rows: Any, feature: str, p: FeaturePlan, c: Comparison) -> dict[str, Any]:
    categorical = feature in p.categorical
    if categorical:
        values = rows[feature].value_counts().index[:PD_GRID].tolist()
        pd_ = partial_dependence(model, rows, [feature], categorical_features=[feature], custom_values={feature: np.array(values, dtype=object)},
                                 kind="average")
    else:
        # The grid from the known values (sklearn's own would take percentiles of a column with NaN: all NaN).
        known = rows[feature].dropna().to_numpy(dtype=float)
        distinct = np.unique(known)
        grid_values = distinct if len(distinct) < PD_GRID else np.linspace(*np.percentile(known, [5, 95]), PD_GRID)
        pd_ = partial_dependence(model, rows, [feature], custom_values={feature: grid_values}, kind="average")
    grid = [v.item() if hasattr(v, "item") else v for v in pd_["grid_values"][0]]
    average = np.asarray(pd_["average"])  # (outputs, grid): one output for regression and binary, one per class otherwise
    empty = None
    if not categorical and rows[feature].isna().any():  # a number that can be empty: the average prediction when it is
        blank = rows.assign(**{feature: np.nan})
        predicted = model.predict_proba(blank) if c.task == "classification" else model.predict(blank)[:, None]
        empty = predicted.mean(axis=0)  # one value per output
    label = None
    if c.task == "classification":
        classes = [str(k) for k in model.classes_]
        if average.shape[0] == 1:  # binary: the probability of the second class
            k = 1
            curve = average[0]
        else:
            spans = average.max(axis=1) - average.min(axis=1)
            if empty is not None:
                spans = np.maximum(average.max(axis=1), empty) - np.minimum(average.min(axis=1), empty)
            k = int(np.argmax(spans))
            curve = average[k]
        label = classes[k]
        empty_value = None if empty is None else float(empty[k])
    else:
        curve = average[0]
        empty_value = None if empty is None else float(empty[0])
    return {"feature": feature, "kind": "category" if categorical else "number", "grid": grid, "values": [float(v) for v in curve], "class": label,
            "when_empty": empty_value, "empty_share": float(rows[feature].isna().mean())}


def _describe_dependence(d: dict[str, Any], target: str, spread: float) -> str:
    what = f"The predicted probability that `{target}` is {d['class']}" if d["class"] is not None else f"Predicted `{target}`"
    text = _describe_values(d, what, spread)
    if d.get("when_empty") is not None:
        text += (f" Where `{d['feature']}` is empty ({d['empty_share']:.0%} of rows), {what[0].lower() + what[1:]} is {num(d['when_empty'])} "
                 f"on average (against {num(min(d['values']))} to {num(max(d['values']))} across its range).")
    return text


def _describe_values(d: dict[str, Any], what: str, spread: float) -> str:
    grid, values = d["grid"], d["values"]
    lo, hi = int(np.argmin(values)), int(np.argmax(values))
    if values[hi] - values[lo] < NEGLIGIBLE * spread:
        return (f"{what} barely moves with `{d['feature']}` ({num(values[lo])} to {num(values[hi])}, under {NEGLIGIBLE:.0%} of "
                f"{'a standard deviation' if d['class'] is None else 'the 0–1 scale'}), other columns as they are.")
    if d["kind"] == "category":
        return (f"{what} is highest for `{d['feature']}` = {grid[hi]} ({num(values[hi])}) and lowest for {grid[lo]} "
                f"({num(values[lo])}), other columns as they are.")
    steps = np.diff(values)
    moved = float(np.abs(steps).sum()) or 1.0
    span = f"as `{d['feature']}` goes from {num(grid[0])} to {num(grid[-1])} (its 5th to 95th percentile), other columns as they are"
    if float(steps[steps > 0].sum()) >= 0.8 * moved:
        return f"{what} rises from {num(values[0])} to {num(values[-1])} {span}."
    if float(-steps[steps < 0].sum()) >= 0.8 * moved:
        return f"{what} falls from {num(values[0])} to {num(values[-1])} {span}."
    return (f"{what} varies between {num(values[lo])} (at {num(grid[lo])}) and {num(values[hi])} (at {num(grid[hi])}) {span}; "
            "it does not move one way.")


def twins(correlations: dict[str, Any] | None, features: list[str]) -> dict[str, tuple[str, float]]:
    """Feature → its most correlated other feature, when |r| ≥ TWINS (from the profile's Pearson matrix)."""
    if not correlations:
        return {}
    names, matrix, out = correlations["columns"], correlations["matrix"], {}
    for i, a in enumerate(names):
        best = max(((b, matrix[i][j]) for j, b in enumerate(names) if b != a and b in features and matrix[i][j] is not None),
                   key=lambda t: abs(t[1]), default=None)
        if a in features and best and abs(best[1]) >= TWINS:
            out[a] = best
    return out


def sentences(target: str, c: Comparison, e: Explanation | None, rows: int, available: int, sampled: bool,
              correlations: dict[str, Any] | None = None) -> list[str]:
    """The model's story in plain language, every sentence with its numbers. ``correlations``: the
    profile's, to say when a column's effect is shared with a near-twin (|r| ≥ ``TWINS``)."""
    metric, best, base = c.metric, c.mean(c.best), c.mean(c.baseline)
    sample = f"a random sample of {rows:,} of the {available:,} rows with `{target}` known" if sampled else f"{rows:,} rows"
    if not c.beats_baseline:
        lead = (f"No model beats {BASELINE[c.task]}: the other columns say little about `{target}` (best {metric} "
                f"{max(c.mean(n) for n in c.scores if n != c.baseline):.2f} against {base:.2f} for {BASELINE[c.task]}; {c.folds}, {sample}).")
        return [lead, _compared(c)]
    out = [f"A {c.best} model predicts `{target}` with {metric} {best:.2f} against {base:.2f} for {BASELINE[c.task]} "
           f"(cross-validated: {c.folds}, {sample})."]
    out.append(_compared(c))
    if e is None:
        return out
    positive = [r for r in e.importance if r["mean"] > 0]
    total = sum(r["mean"] for r in positive) or 1.0
    if positive:
        top, rest = positive[0], positive[1:TOP]
        nexts = ", ".join(f"`{r['feature']}` ({r['mean']:.2f})" for r in rest)
        drop = f"shuffling it lowers the out-of-fold {metric} by {top['mean']:.2f} (from {best:.2f})"
        if top["mean"] / total >= MOST:
            out.append(f"`{top['feature']}` explains most of `{target}` in this model: {drop}, "
                       f"{top['mean'] / total:.0%} of all columns' importance" + (f"; next come {nexts}." if nexts else "."))
        else:
            out.append(f"`{top['feature']}` matters most: {drop}" + (f"; next come {nexts}." if nexts else "."))
    useless = [r["feature"] for r in e.importance if r["mean"] <= 0]
    if useless:
        shown = ", ".join(f"`{f}`" for f in useless[:6]) + ("…" if len(useless) > 6 else "")
        out.append(f"Shuffling {shown} does not lower the out-of-fold score: the model does not rely on {'them' if len(useless) > 1 else 'it'}.")
    pairs = twins(correlations, [r["feature"] for r in e.importance])
    for d in e.dependence:
        text = _describe_dependence(d, target, e.target_spread)
        if d["feature"] in pairs:
            other, r = pairs[d["feature"]]
            text += (f" `{d['feature']}` moves with `{other}` (r = {r:.2f}): the model can split their effect between them, "
                     "so read this one together with it.")
        out.append(text)
    return out


def _compared(c: Comparison) -> str:
    parts = [f"{name} {c.mean(name):.2f}" if np.isfinite(c.scores[name]).all() else f"{name} failed on a fold" for name in c.scores]
    return f"Cross-validated {c.metric} of each family: " + ", ".join(parts) + "."
