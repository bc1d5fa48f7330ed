"""Plain-language findings computed from a profile; every sentence carries its numbers.

Each insight is a dict with ``kind``, ``text`` and the values the text states (so tests and
downstream tools can check them), most important first. A rule only speaks when the profile has
what it needs; a few rules (shape, completeness, keys) always apply, so every dataset gets at
least five findings.

Longer than 300 lines on purpose: it is one flat list of independent rules (``RULES``), each a
short generator read on its own; splitting the list across files would only hide its order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from analytics_platform.defs.reports.profiles.formatting import change, ident, median_label, num, pct, value

NULL_HEAVY = 0.2
SKEWED = 1.0
Insight = dict[str, Any]


def _cols(p: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in p["columns"]}


def _trend_text(measure: str, trend: dict[str, Any], f: dict[str, Any]) -> str:
    grain, periods = trend["grain"], trend["periods"]
    span = trend.get("span") or {"first": periods[0], "last": periods[-1]}
    first, last = span["first"], span["last"]
    curve = "exponential curve" if f.get("model") == "exponential" else "line"
    fitted = f"the fitted {curve} goes from {num(f['start'])} ({first}) to {num(f['end'])} ({last})"
    amount = change(f["pct_change"]) if f["pct_change"] is not None else f"a change of {num(f['end'] - f['start'])}"
    scale = " on a log scale" if f.get("model") == "exponential" else ""
    where = f"R² = {f['r2']:.2f}{scale} over {f['periods']} {grain}s of {ident(trend['time_column'])}"
    if f["direction"] == "flat":
        return f"Average {ident(measure)} per {grain} shows no clear trend ({where}); {fitted}, {amount}."
    verb = {"up": "rises", "down": "falls"}[f["direction"]]
    hedge = "" if f["strength"] == "clear" else "tends to "
    if hedge:
        verb = {"up": "rise", "down": "fall"}[f["direction"]]
    return f"Average {ident(measure)} per {grain} {hedge}{verb} over time: {fitted}, {amount} ({where})."


def _span(t: dict[str, Any]) -> dict[str, Any]:
    span = t.get("span") or {"first": t["periods"][0], "last": t["periods"][-1]}
    return {"first_period": span["first"], "last_period": span["last"]}


def trend(p: dict[str, Any]) -> Iterator[Insight]:
    t, m = p.get("trend"), p.get("main_measure")
    if not t or not m or not t["fits"].get(m):
        return
    f = t["fits"][m]
    yield {
        "kind": "trend", "text": _trend_text(m, t, f), "columns": [m, t["time_column"]], "measure": m,
        "time_column": t["time_column"], "grain": t["grain"], "direction": f["direction"], "pct_change": f["pct_change"],
        "r2": f["r2"], "start": f["start"], "end": f["end"], **_span(t),
    }
    # The measure that moved most, when it is not the main one (wide time series: stocks, sensors…).
    moved = [
        (abs(g["pct_change"]), name, g) for name, g in t["fits"].items()
        if g and name != m and g["strength"] == "clear" and g["pct_change"] is not None
    ]
    if moved:
        _, name, g = max(moved)
        if abs(g["pct_change"]) > abs(f["pct_change"] or 0):
            yield {
                "kind": "trend", "text": "Largest move among the measures: " + _trend_text(name, t, g)[0].lower() + _trend_text(name, t, g)[1:],
                "columns": [name, t["time_column"]], "measure": name, "time_column": t["time_column"], "grain": t["grain"],
                "direction": g["direction"], "pct_change": g["pct_change"], "r2": g["r2"], "start": g["start"], "end": g["end"],
                **_span(t),
            }


def correlation(p: dict[str, Any]) -> Iterator[Insight]:
    c = p.get("correlations")
    if not c or not c["pairs"]:
        return
    top = c["pairs"][0]
    a, b, r, n = top["a"], top["b"], top["r"], top["n"]
    if abs(r) < 0.2:
        text = f"No two measures are linearly related: the strongest correlation is r = {r:.2f} ({ident(a)} vs {ident(b)}, {n:,} rows)."
    else:
        sense = "rise together" if r > 0 else "move in opposite directions"
        text = f"{ident(a)} and {ident(b)} {sense}: {top['strength']} correlation, r = {r:.2f} over {n:,} rows (strongest of {len(c['columns'])} measures)."
    yield {"kind": "correlation", "text": text, "columns": [a, b], "a": a, "b": b, "r": r, "n": n}


def top_category(p: dict[str, Any]) -> Iterator[Insight]:
    cols = _cols(p)
    names = [p["main_category"]] if p.get("main_category") else []
    names += [
        c["name"] for c in p["columns"]
        if c["kind"] == "category" and c["name"] not in names and c.get("top_values") and c["distinct"] <= 50
    ][:1]
    for name in names[:2]:
        col = cols[name]
        tops = col.get("top_values") or []
        if not tops:
            continue
        head = tops[:3]
        covered = sum(t["share"] for t in head)
        first = tops[0]
        tied = [t for t in tops if t["count"] == first["count"]]
        if first["count"] * col["distinct"] == col["count"]:
            text = (
                f"{ident(name)}: {'both' if col['distinct'] == 2 else 'all ' + format(col['distinct'], ',')} values occur equally often, "
                f"{first['count']:,} rows each "
                f"({pct(first['share'])} of {col['count']:,} non-empty rows)."
            )
        elif len(tied) > 1:
            listed = ", ".join(value(t["value"]) for t in tied[:3]) + ("…" if len(tied) > 3 else "")
            text = (
                f"{ident(name)} ({col['distinct']:,} distinct values): {'at least ' if len(tied) == len(tops) else ''}{len(tied)} values tie "
                f"as most common ({listed}), with {first['count']:,} of {col['count']:,} rows each ({pct(first['share'])})."
            )
        else:
            listed = ", ".join(f"{value(t['value'])} {pct(t['share'])}" for t in head)
            rest = f"; these {len(head)} cover {pct(covered)} of non-empty values" if col["distinct"] > len(head) else ""
            text = (
                f"{ident(name)} ({col['distinct']:,} distinct values): most common is {value(first['value'])} with "
                f"{first['count']:,} of {col['count']:,} rows ({pct(first['share'])}); top values {listed}{rest}."
            )
        yield {
            "kind": "top_category", "text": text, "columns": [name], "column": name, "value": tops[0]["value"],
            "count": tops[0]["count"], "share": tops[0]["share"], "top_share": covered, "distinct": col["distinct"],
        }


def segment(p: dict[str, Any]) -> Iterator[Insight]:
    s = p.get("segments")
    if not s or len(s["groups"]) < 2:
        return
    groups = [g for g in s["groups"] if g["mean"] is not None]
    hi, lo = max(groups, key=lambda g: g["mean"]), min(groups, key=lambda g: g["mean"])
    among = f" (among its {len(groups)} largest groups)" if s["group_count"] > len(groups) else ""
    if s["eta_squared"] < 0.01:
        text = (
            f"Average {ident(s['measure'])} barely differs by {ident(s['category'])}{among}: from {num(lo['mean'])} ({value(lo['value'])}) "
            f"to {num(hi['mean'])} ({value(hi['value'])}); {ident(s['category'])} explains only {pct(s['eta_squared'])} of its variance."
        )
    else:
        text = (
            f"Average {ident(s['measure'])} by {ident(s['category'])}{among}: highest for {value(hi['value'])} ({num(hi['mean'])}, "
            f"{hi['rows']:,} rows), lowest for {value(lo['value'])} ({num(lo['mean'])}); {ident(s['category'])} explains "
            f"{pct(s['eta_squared'])} of the variance of {ident(s['measure'])}."
        )
    yield {
        "kind": "segment", "text": text, "columns": [s["category"], s["measure"]], "highest": hi["value"], "highest_mean": hi["mean"],
        "lowest": lo["value"], "lowest_mean": lo["mean"], "eta_squared": s["eta_squared"],
    }


def outliers(p: dict[str, Any]) -> Iterator[Insight]:
    measured = [c for c in p["columns"] if c["kind"] == "measure" and c.get("outliers")]
    if not measured:
        return
    worst = max(measured, key=lambda c: (c["outliers"]["share"], -p["columns"].index(c)))
    o = worst["outliers"]
    if o["count"] == 0:
        where = "the only numeric measure" if len(measured) == 1 else f"any of the {len(measured)} numeric measures"
        text = f"No outliers in {where} (robust z-score ≤ 3.5, or within Tukey's fences, everywhere)."
    else:
        others = sum(1 for c in measured if c["outliers"]["count"] and c is not worst)
        also = "no other measure has any" if not others else f"{others} other measure{'s' if others != 1 else ''} {'have' if others != 1 else 'has'} some too"
        heavy = ": a heavy tail more than isolated errors" if o["share"] > 0.1 else ""
        side = "above" if o["above"] and not o["below"] else "below" if o["below"] and not o["above"] else "outside"
        bounds = num(o["high"]) if side == "above" else num(o["low"]) if side == "below" else f"[{num(o['low'])}, {num(o['high'])}]"
        text = (
            f"{pct(o['share'])} of {ident(worst['name'])} values ({o['count']:,} of {worst['finite']:,}) are outliers, {side} {bounds} "
            f"({o['method'].split(' (')[0]}){heavy}; {also}."
        )
    yield {"kind": "outliers", "text": text, "columns": [worst["name"]], "column": worst["name"], "share": o["share"],
           "count": o["count"], "low": o["low"], "high": o["high"], "method": o["method"]}


def nulls(p: dict[str, Any]) -> Iterator[Insight]:
    rows = p["profiled_rows"]
    if not rows:
        return
    rates = sorted(((1 - (c["count"] or 0) / rows, i, c) for i, c in enumerate(p["columns"])), key=lambda t: (-t[0], t[1]))
    heavy = [(rate, c) for rate, _, c in rates if rate >= NULL_HEAVY]
    for rate, c in heavy[:3]:
        nulls_ = rows - (c["count"] or 0)
        text = f"{ident(c['name'])} is {pct(rate)} empty ({nulls_:,} of {rows:,} rows)" + (
            "." if rate < 1 else ": it holds no value at all."
        )
        yield {"kind": "nulls", "text": text, "columns": [c["name"]], "column": c["name"], "null_rate": rate, "nulls": nulls_}
    if not heavy:
        filled = sum(c["count"] or 0 for c in p["columns"]) / (rows * len(p["columns"])) if p["columns"] else 1.0
        worst_rate, _, worst = rates[0] if rates else (0.0, 0, {"name": "-"})
        detail = "no column has an empty value" if worst_rate == 0 else f"the emptiest column, {ident(worst['name'])}, is {pct(worst_rate)} empty"
        yield {"kind": "completeness", "text": f"Complete data: {pct(filled)} of cells are filled; {detail}.",
               "columns": [], "filled": filled, "max_null_rate": worst_rate}


def skew(p: dict[str, Any]) -> Iterator[Insight]:
    measured = [c for c in p["columns"] if c["kind"] == "measure" and c.get("skewness") is not None]
    if not measured:
        return
    c = max(measured, key=lambda c: abs(c["skewness"]))
    g, mean, median = c["skewness"], c["mean"], c["median"]
    if abs(g) < SKEWED:
        text = f"Measures are roughly symmetric: the largest skewness is {g:.2f} ({ident(c['name'])}, mean {num(mean)} vs {median_label(p)} {num(median)})."
    else:
        side = "right" if g > 0 else "left"
        tail = "a long tail of large values" if g > 0 else "a long tail of small values"
        ratio = f", {mean / median:.1f}× the median" if median and mean and (mean > 0) == (median > 0) and abs(mean / median) >= 1.1 else ""
        text = f"{ident(c['name'])} is {side}-skewed (skewness {g:.2f}, {tail}): mean {num(mean)} vs {median_label(p)} {num(median)}{ratio}."
    yield {"kind": "skew", "text": text, "columns": [c["name"]], "column": c["name"], "skewness": g, "mean": mean, "median": median}


def time_coverage(p: dict[str, Any]) -> Iterator[Insight]:
    t = p.get("trend")
    name = p.get("main_time")
    if not name:
        return
    info = _cols(p)[name]["time"]
    lo, hi = str(info["min"])[:19].replace("T", " ").removesuffix(" 00:00:00"), str(info["max"])[:19].replace("T", " ").removesuffix(" 00:00:00")
    span = info.get("span_days") or 0
    span_text = f"{span / 365.25:.1f} years" if span >= 730 else f"{span:,.0f} days" if span >= 2 else f"{span * 24:.1f} hours"
    text = f"{ident(name)} covers {lo} to {hi} ({span_text})"
    extra: dict[str, Any] = {}
    if t and t["rows"]:
        counts, periods = t["rows"], t["periods"]
        total = sum(counts)
        if max(counts) == min(counts):
            text += (f"; each of the {len(counts)} {t['grain']}s with data has exactly {counts[0]:,} row{'s' if counts[0] != 1 else ''}")
        else:
            i = max(range(len(counts)), key=lambda k: counts[k])
            text += f"; the busiest {t['grain']} is {periods[i]} with {counts[i]:,} rows ({pct(counts[i] / total)} of {total:,})"
            extra = {"busiest_period": periods[i], "busiest_rows": counts[i]}
    yield {"kind": "time_coverage", "text": text + ".", "columns": [name], "column": name, "min": info["min"], "max": info["max"],
           "span_days": span, **extra}


def date_text(p: dict[str, Any]) -> Iterator[Insight]:
    for c in p["columns"]:
        info = c.get("time")
        if info and info["source"] in ("text", "yyyymmdd", "epoch"):
            stored = "text" if info["source"] == "text" else "a number"
            yield {
                "kind": "date_text", "columns": [c["name"]], "column": c["name"], "format": info["format"], "parse_rate": info["parse_rate"],
                "text": f"{ident(c['name'])} is stored as {stored}, but {pct(info['parse_rate'])} of its values parse as dates "
                f"(format {info['format']}, {str(info['min'])[:10]} to {str(info['max'])[:10]}).",
            }


def key(p: dict[str, Any]) -> Iterator[Insight]:
    k = p.get("primary_key") or []
    rows = p["profiled_rows"]
    if len(k) == 1:
        text = f"{ident(k[0])} identifies every row: {rows:,} distinct values, none empty (a primary key)."
    elif k:
        text = f"Each ({', '.join(ident(x) for x in k)}) combination occurs exactly once in {rows:,} rows: together they identify a row."
    else:
        text = f"No column, nor pair of columns, identifies rows uniquely among {rows:,} rows."
    yield {"kind": "key", "text": text, "columns": list(k), "primary_key": list(k)}
    dups = p.get("duplicate_rows") or 0
    if dups > 0:
        yield {"kind": "duplicates",
               "text": f"{dups:,} {'rows are exact copies' if dups != 1 else 'row is an exact copy'} of another row ({pct(dups / rows)}).",
               "columns": [], "duplicates": dups, "share": dups / rows}


def shape(p: dict[str, Any]) -> Iterator[Insight]:
    kinds: dict[str, int] = {}
    for c in p["columns"]:
        kinds[c["kind"]] = kinds.get(c["kind"], 0) + 1
    order = ["measure", "category", "time", "calendar", "identifier", "code", "boolean", "text", "constant", "empty", "other"]
    label = {"measure": "numeric measure", "category": "category", "time": "time column", "calendar": "calendar part", "identifier": "identifier",
             "code": "numeric code", "boolean": "flag", "text": "free-text column", "constant": "constant column",
             "empty": "empty column", "other": "nested column"}
    plural = {"category": "categories"}
    parts = [f"{kinds[k]} {label[k] if kinds[k] == 1 else plural.get(k, label[k] + 's')}" for k in order if kinds.get(k)]
    sample = f" (statistics from a {p['profiled_rows']:,}-row random sample)" if p.get("sampled") else ""
    text = f"{p['rows']:,} rows × {len(p['columns'])} columns: {', '.join(parts) or 'no columns'}{sample}."
    yield {"kind": "shape", "text": text, "columns": [], "rows": p["rows"], "column_count": len(p["columns"]), "kinds": kinds}
    flat = [c["name"] for c in p["columns"] if c["kind"] in ("constant", "empty")]
    if flat:
        yield {"kind": "constant", "text": f"{len(flat)} column{'s carry' if len(flat) != 1 else ' carries'} no information (a single value or none): "
               + ", ".join(ident(n) for n in flat[:8]) + ("…" if len(flat) > 8 else "") + ".", "columns": flat}


def spread(p: dict[str, Any]) -> Iterator[Insight]:
    m = p.get("main_measure")
    col = _cols(p).get(m) if m else None
    if not col or col.get("q25") is None:
        return
    text = (
        f"Half of the {ident(m)} values lie between {num(col['q25'])} and {num(col['q75'])} ({median_label(p)} {num(col['median'])}); "
        f"the full range is {num(col['min'])} to {num(col['max'])}."
    )
    yield {"kind": "spread", "text": text, "columns": [m], "column": m, "q25": col["q25"], "q75": col["q75"],
           "median": col["median"], "min": col["min"], "max": col["max"]}


def text_lengths(p: dict[str, Any]) -> Iterator[Insight]:
    texts = [c for c in p["columns"] if c["family"] == "text" and c["kind"] in ("text", "identifier") and c.get("max_length") is not None]
    if not texts:
        return
    c = max(texts, key=lambda c: c["avg_length"] or 0)
    text = (
        f"{ident(c['name'])} holds {'free text' if c['kind'] == 'text' else 'distinct labels'}: {c['distinct']:,} different values "
        f"of {c['min_length']:,} to {c['max_length']:,} characters (average {c['avg_length']:.1f})."
    )
    yield {"kind": "text_lengths", "text": text, "columns": [c["name"]], "column": c["name"], "min_length": c["min_length"],
           "max_length": c["max_length"], "avg_length": c["avg_length"], "distinct": c["distinct"]}


RULES: tuple[Callable[[dict[str, Any]], Iterator[Insight]], ...] = (
    trend, correlation, top_category, segment, outliers, nulls, skew, spread, time_coverage, date_text, text_lengths, key, shape,
)


def generate(profile: dict[str, Any]) -> list[Insight]:
    return [insight for rule in RULES for insight in rule(profile)]
