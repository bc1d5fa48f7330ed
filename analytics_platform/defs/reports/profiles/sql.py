"""Running many aggregates over the profiled table in as few scans as possible."""

from __future__ import annotations

import datetime as dt
import decimal
import math
from typing import Any

import duckdb

WORK_TABLE = "profile_data"  # session-local copy (or sample) of the dataset being profiled
CHUNK = 240  # aggregates per SELECT: wide tables are scanned a few times, never one giant query


def aggregate(con: duckdb.DuckDBPyConnection, exprs: dict[Any, str], table: str = WORK_TABLE) -> dict[Any, Any]:
    """``{key: aggregate SQL}`` → ``{key: value}``, evaluated in chunks of one scan each."""
    keys = list(exprs)
    out: dict[Any, Any] = {}
    for start in range(0, len(keys), CHUNK):
        part = keys[start : start + CHUNK]
        row = con.execute(f"SELECT {', '.join(exprs[k] for k in part)} FROM {table}").fetchone()
        assert row is not None
        out.update(zip(part, row, strict=False))
    return out


def jsonable(value: Any) -> Any:
    """DuckDB results → plain JSON values (NaN/inf → None, dates → ISO text, Decimal → float)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, decimal.Decimal):
        return jsonable(float(value))
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return str(value)
