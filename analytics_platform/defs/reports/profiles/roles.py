"""Column roles: what a column stands for, so that only measures are ever aggregated.

Every profiled column gets one role, decided from its values and its name, in this order (the
first rule that applies wins):

- ``timestamp``: a point in time. Typed DATE/TIMESTAMP columns; text of which ≥ 95 % parses as
  dates; integers named like dates holding YYYYMMDD; numbers named like times (``time``, ``ts``,
  ``timestamp``, ``epoch``, ``unix``, ``created``, ``updated``, ``…_at``, ``date``) whose values
  are Unix epoch seconds, milliseconds or microseconds between 1980 and 2100 (see ``timecols``):
  they are read as times, never as numbers.
- ``calendar``: a part of a date (``calendar_part``: year, quarter, month, week, weekday, day,
  hour, minute, second). Whole numbers whose name's last word is the part (``year``, ``birth_year``,
  ``month``, ``peak_hour``, ``day_of_week``; not ``days`` or ``car_hours``, which count) and whose
  values fit its range (month 1–12, hour 0–24…); text whose values are all weekday or month names
  (``Thur``, ``Sunday``, ``Jan``). A year column is also the time axis of trends; the other parts
  only group rows (average tip by weekday), their average means nothing.
- ``identifier``: names one row. Unique text in every row; unique whole numbers named like an id
  or code (``id``, ``key``, ``code``, ``num``, ``no``, ``zip``, ``iso``, ``…Id``) or running
  densely from min to max (a row number).
- ``code``: whole numbers named like an id or code that repeat (``iso_num``, ``species_id``): a
  label written with digits.
- ``category``: flags (booleans, two-valued integers), whole numbers with at most 20 values named
  like a class (``target``, ``class``, ``label``, ``cluster``, ``group``…: sklearn's wine classes
  0/1/2), and text with at most 50 values or at most 50 % distinct values.
- ``text``: other text (free text, long labels).
- ``measure``: every other number. The only role that is averaged, correlated, trended, checked
  for outliers and skew, and split by a category.
- ``other``: nothing to aggregate or group by: an empty or constant column, nested values.
"""

from __future__ import annotations

import re
from typing import Any

import duckdb

from analytics_platform.defs.reports.profiles.columns import Col
from analytics_platform.defs.reports.profiles.sql import WORK_TABLE

ROLES = ("timestamp", "calendar", "identifier", "code", "category", "text", "measure", "other")
# part → (names the column's last word may be, lowest value, highest value)
CALENDAR_PARTS: dict[str, tuple[tuple[str, ...], int, int]] = {
    "year": (("year", "yr", "yyyy"), 1000, 2200),
    "quarter": (("quarter", "qtr"), 1, 4),
    "month": (("month", "mon", "mth"), 1, 12),
    "week": (("week", "wk", "weeknum", "weekofyear"), 0, 53),
    "weekday": (("weekday", "dow", "wday", "dayofweek"), 0, 7),
    "day": (("day", "dayofmonth", "dom"), 1, 31),
    "hour": (("hour", "hr"), 0, 24),
    "minute": (("minute",), 0, 59),
    "second": (("second",), 0, 60),
}
WEEKDAYS = {
    "mon", "monday", "tue", "tues", "tuesday", "wed", "wednesday", "thu", "thur", "thurs", "thursday",
    "fri", "friday", "sat", "saturday", "sun", "sunday",
}
MONTHS = {
    "jan", "january", "feb", "february", "mar", "march", "apr", "april", "may", "jun", "june", "jul", "july",
    "aug", "august", "sep", "sept", "september", "oct", "october", "nov", "november", "dec", "december",
}
ROLE_OF_KIND = {
    "identifier": "identifier", "code": "code", "measure": "measure", "category": "category", "boolean": "category",
    "text": "text", "calendar": "calendar", "empty": "other", "constant": "other", "other": "other",
}


def words(name: str) -> list[str]:
    """``peak_hour`` → [peak, hour]; ``gdpPercap`` → [gdp, percap]; ``day of week`` → [day, of, week]."""
    return [w.lower() for w in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+", name)]


def calendar_part_by_name(name: str) -> str | None:
    ws = words(name)
    if not ws:
        return None
    joined = "".join(ws)
    for part, (names, _, _) in CALENDAR_PARTS.items():  # day_of_week is a weekday, not a week
        if any(joined.endswith(n) for n in names if len(n) > 6):
            return part
    return next((part for part, (names, _, _) in CALENDAR_PARTS.items() if ws[-1] in names), None)


def numeric_calendar_part(col: Col, s: dict[str, Any]) -> str | None:
    """The calendar part a whole-number column holds, judged by its name and its range."""
    if not col.numeric or not s.get("integral") or s.get("min") is None:
        return None
    part = calendar_part_by_name(col.name)
    if part is None:
        return None
    _, lo, hi = CALENDAR_PARTS[part]
    return part if lo <= s["min"] and s["max"] <= hi else None


def text_calendar_part(con: duckdb.DuckDBPyConnection, col: Col, s: dict[str, Any]) -> str | None:
    """``weekday`` or ``month`` when every value of a short text column is such a name."""
    if col.family != "text" or not 2 <= (s.get("distinct") or 0) <= 12 or (s.get("max_length") or 99) > 9:
        return None
    values = {
        r[0] for r in con.execute(
            f"SELECT DISTINCT lower(trim({col.q}::VARCHAR)) FROM {WORK_TABLE} WHERE {col.q} IS NOT NULL LIMIT 13"
        ).fetchall()
    }
    if values <= WEEKDAYS:
        return "weekday"
    if values <= MONTHS:
        return "month"
    return None


def calendar_part(con: duckdb.DuckDBPyConnection, col: Col, s: dict[str, Any]) -> str | None:
    return numeric_calendar_part(col, s) or text_calendar_part(con, col, s)


def role(kind: str, time_info: dict[str, Any] | None) -> str:
    """The role of a classified column (kinds are ``columns.classify``'s)."""
    if kind == "time":
        return "calendar" if time_info and time_info["source"] == "year" else "timestamp"
    return ROLE_OF_KIND[kind]
