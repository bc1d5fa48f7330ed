"""Which columns a dataset's model may learn from, and the rows it learns from.

A column's role (``profiles/roles.py``) decides, never its type alone:

- ``measure`` → a number (missing values: the median, plus a "was missing" flag);
- ``category`` and ``calendar`` parts (weekday, month…) → categories, one-hot encoded, the 20
  most frequent values kept and the rest pooled as "infrequent" (missing: its own value);
  a ``year`` → a number; a category with more than ``MAX_CATEGORY_VALUES`` values (a session id
  repeated on each event of its session) is nearly an identifier: left out;
- ``code`` with at most ``MAX_CODE_VALUES`` values → a category; more is a near-identifier: left out;
- ``timestamp`` → its calendar parts (year, month, weekday, and the hour when it has times of day);
- ``identifier``, ``text`` (free text) and ``other`` (empty, constant, nested) → left out, with the reason.

Rows: those whose target is known, in the table's order (sorted by the time column, stably, when
there is one); above ``MAX_ROWS`` a seeded reservoir sample of them, and the analysis says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb

from analytics_platform.defs.reports.profiles.datasets import qualified_table
from analytics_platform.warehouse import quote_ident

MAX_ROWS = 50_000
MAX_CODE_VALUES = 50
MAX_CATEGORY_VALUES = 200
MAX_ONE_HOT = 20
SAMPLE_SEED = 7
ORDER_COLUMN = "__time"  # the time column as a timestamp, to order rows by (never a feature)
LEFT_OUT = {"identifier": "an identifier (names rows, says nothing that generalises)", "text": "free text",
            "other": "no information (empty, constant or nested)"}


@dataclass
class FeaturePlan:
    target: str
    numeric: list[str] = field(default_factory=list)
    categorical: list[str] = field(default_factory=list)
    derived: dict[str, str] = field(default_factory=dict)  # feature → SQL (calendar parts of timestamps)
    left_out: dict[str, str] = field(default_factory=dict)  # column → why
    time_column: str | None = None  # rows are ordered by it and cross-validated forward in time
    time_expr: str | None = None  # the time column as a TIMESTAMP (from the profile)

    @property
    def features(self) -> list[str]:
        return [*self.numeric, *self.categorical]


def plan(profile: dict[str, Any], target: str, exclude: tuple[str, ...] = ()) -> FeaturePlan:
    p = FeaturePlan(target)
    for c in profile["columns"]:
        name, role, time = c["name"], c.get("role"), c.get("time")
        if name == target:
            continue
        if name in exclude:
            p.left_out[name] = "excluded in the dataset's YAML"
        elif role == "measure" or (role == "calendar" and time and time["source"] == "year"):
            p.numeric.append(name)
        elif role in ("category", "calendar"):
            if (c.get("distinct") or 0) <= MAX_CATEGORY_VALUES:
                p.categorical.append(name)
            else:
                p.left_out[name] = f"a category with {c['distinct']:,} values (nearly an identifier)"
        elif role == "code":
            if (c.get("distinct") or 0) <= MAX_CODE_VALUES:
                p.categorical.append(name)
            else:
                p.left_out[name] = f"a code with {c['distinct']:,} values (nearly an identifier)"
        elif role == "timestamp" and time:
            p.left_out[name] = "a timestamp: used through its calendar parts"
            expr = time["expr"]
            for part, sql in (("year", f"year({expr})"), ("month", f"month({expr})"), ("weekday", f"dayofweek({expr})")):
                p.derived[f"{name} {part}"] = sql
                (p.numeric if part == "year" else p.categorical).append(f"{name} {part}")
            if _has_time_of_day(time):
                p.derived[f"{name} hour"] = f"hour({expr})"
                p.categorical.append(f"{name} hour")
        else:
            p.left_out[name] = LEFT_OUT.get(role or "other", f"role {role}")
    main_time = profile.get("main_time")
    if main_time and main_time != target and main_time not in exclude:
        p.time_column = main_time
        p.time_expr = next(c["time"]["expr"] for c in profile["columns"] if c["name"] == main_time)
    return p


def _has_time_of_day(time: dict[str, Any]) -> bool:
    fmt, source = str(time.get("format")), time["source"]
    if source == "typed":
        return fmt != "DATE"
    return source == "epoch" or (source == "text" and (fmt == "ISO 8601" or "%H" in fmt))


@dataclass
class Rows:
    frame: Any  # pandas.DataFrame: the features, the target, and the time column when there is one
    available: int  # rows with a known target
    sampled: bool


def load(con: duckdb.DuckDBPyConnection, dataset: str, p: FeaturePlan, max_rows: int = MAX_ROWS) -> Rows:
    """The rows to learn from, as a pandas frame (categories as text, missing as NaN)."""
    import numpy as np

    table = qualified_table(dataset)
    where = f"{quote_ident(p.target)} IS NOT NULL"
    available = int(con.execute(f"SELECT count(*) FROM {table} WHERE {where}").fetchone()[0])  # type: ignore[index]
    select = [f"{quote_ident(p.target)}"]
    for name in p.features:
        sql = p.derived.get(name, quote_ident(name))
        select.append(f"({sql})::VARCHAR AS {quote_ident(name)}" if name in p.categorical else f"({sql})::DOUBLE AS {quote_ident(name)}")
    if p.time_expr:
        select.append(f"({p.time_expr}) AS {quote_ident(ORDER_COLUMN)}")
    sampled = available > max_rows
    source = f"(SELECT * FROM {table} WHERE {where})"
    if sampled:
        source = f"(SELECT * FROM {source} USING SAMPLE reservoir({max_rows} ROWS) REPEATABLE ({SAMPLE_SEED}))"
    frame = con.execute(f"SELECT {', '.join(select)} FROM {source}").df()
    if p.time_expr:  # in Python, stably: rows of one instant keep the table's order, so folds are reproducible
        frame = frame.sort_values(ORDER_COLUMN, kind="stable").reset_index(drop=True)
    for name in p.categorical:
        frame[name] = frame[name].astype(object).where(frame[name].notna(), np.nan)
    return Rows(frame, available, sampled)
