"""Metric threshold checks on marts, configured by the dbt seed ``metric_thresholds.csv``.

Each seed row (metric, condition, threshold, channel, marketing_channel, severity, description)
becomes one asset check on the mart its metric comes from. The check computes the metric on the
mart's latest day (optionally for one marketing channel) and passes when
``value <condition> threshold``. Checks run after their mart materializes (eager) and on demand;
a failure becomes an alert through the check-failure sensor (``sensors.py``), routed to the
row's ``channel``. A metric without data on the latest day fails its check.
"""

import csv
import operator
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb

from analytics_platform.resources import WarehouseResource, warehouse_pool
from analytics_platform.settings import DBT_PROJECT_DIR

THRESHOLDS_SEED = DBT_PROJECT_DIR / "seeds" / "metric_thresholds.csv"
CONDITIONS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt, "=": operator.eq, "!=": operator.ne,
}


@dataclass(frozen=True)
class Metric:
    """``sql`` aggregates the mart's rows of one day; ``{where}`` receives the channel filter."""

    mart: str
    day_column: str
    sql: str
    description: str


METRICS: dict[str, Metric] = {
    "daily_revenue": Metric("fct_daily_revenue", "date_day", "sum(revenue)", "Revenue of the latest day, EUR"),
    "daily_orders": Metric("fct_daily_revenue", "date_day", "sum(orders)", "Orders placed on the latest day"),
    "daily_sessions": Metric("fct_daily_revenue", "date_day", "sum(sessions)", "Sessions started on the latest day"),
    "cancellation_rate": Metric(
        "fct_daily_revenue", "date_day", "sum(cancelled_orders) / nullif(sum(orders), 0)",
        "Share of the latest day's orders that ended cancelled",
    ),
    "session_conversion_rate": Metric(
        "funnel_daily", "date_day", "sum(sessions_with_purchase) / nullif(sum(sessions), 0)",
        "Share of the latest day's sessions with a purchase",
    ),
}


@dataclass(frozen=True)
class Threshold:
    metric: str
    condition: str
    threshold: float
    channel: str
    marketing_channel: str
    severity: str
    description: str

    @property
    def check_name(self) -> str:
        scope = "" if self.marketing_channel == "all" else f"_{self.marketing_channel}"
        op = {">=": "min", ">": "above", "<=": "max", "<": "below", "=": "equals", "!=": "not"}[self.condition]
        return re.sub(r"[^a-z0-9_]", "_", f"threshold_{self.metric}{scope}_{op}_{self.threshold:g}".lower())

    @property
    def asset_key(self) -> dg.AssetKey:
        return dg.AssetKey([METRICS[self.metric].mart])


def load_thresholds(path: Path = THRESHOLDS_SEED) -> list[Threshold]:
    """Rows of the seed, validated (an unknown metric or condition fails the code location load)."""
    thresholds = []
    with path.open(newline="", encoding="utf-8") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            metric, condition = row["metric"].strip(), row["condition"].strip()
            if metric not in METRICS:
                raise ValueError(f"{path.name}:{line}: unknown metric {metric!r} (known: {sorted(METRICS)})")
            if condition not in CONDITIONS:
                raise ValueError(f"{path.name}:{line}: unknown condition {condition!r} (known: {sorted(CONDITIONS)})")
            thresholds.append(Threshold(
                metric=metric, condition=condition, threshold=float(row["threshold"]),
                channel=(row.get("channel") or "log").strip() or "log",
                marketing_channel=(row.get("marketing_channel") or "all").strip() or "all",
                severity=(row.get("severity") or "WARN").strip().upper(),
                description=(row.get("description") or "").strip(),
            ))
    names = [t.check_name for t in thresholds]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ValueError(f"{path.name}: duplicate thresholds {sorted(duplicates)}")
    return thresholds


def metric_value(con: duckdb.DuckDBPyConnection, t: Threshold) -> tuple[object, float | None]:
    """(latest day of the mart, metric value on it) for threshold ``t``."""
    m = METRICS[t.metric]
    table = f"marts.{m.mart}"
    where = "" if t.marketing_channel == "all" else "AND channel = $channel"
    params = {} if t.marketing_channel == "all" else {"channel": t.marketing_channel}
    row = con.execute(
        f"SELECT {m.day_column}, {m.sql} FROM {table} "
        f"WHERE {m.day_column} = (SELECT max({m.day_column}) FROM {table}) {where} GROUP BY ALL",
        params,
    ).fetchone()
    if row is None:
        day = con.execute(f"SELECT max({m.day_column}) FROM {table}").fetchone()
        return (day[0] if day else None), None
    return row[0], (None if row[1] is None else float(row[1]))


def evaluate(con: duckdb.DuckDBPyConnection, t: Threshold) -> dg.AssetCheckResult:
    try:
        day, value = metric_value(con, t)
        error = None
    except duckdb.Error as exc:  # the mart is missing: report, don't crash the other checks
        day, value, error = None, None, str(exc).splitlines()[0]
    passed = value is not None and CONDITIONS[t.condition](value, t.threshold)
    return dg.AssetCheckResult(
        asset_key=t.asset_key,
        check_name=t.check_name,
        passed=passed,
        severity=dg.AssetCheckSeverity.ERROR if t.severity == "ERROR" else dg.AssetCheckSeverity.WARN,
        description=f"{t.metric} = {value} on {day}; expected {t.condition} {t.threshold:g}",
        metadata={
            "metric": t.metric,
            "value": value,
            "day": str(day) if day is not None else None,
            "condition": t.condition,
            "threshold": t.threshold,
            "marketing_channel": t.marketing_channel,
            "alert_channel": t.channel,
            **({"error": error} if error else {}),
        },
    )


def build_threshold_checks(thresholds: list[Threshold] | None = None) -> dg.AssetChecksDefinition:
    thresholds = load_thresholds() if thresholds is None else thresholds
    by_name = {t.check_name: t for t in thresholds}
    specs = [
        dg.AssetCheckSpec(
            t.check_name,
            asset=t.asset_key,
            description=f"{t.description or METRICS[t.metric].description}: {t.metric}"
            f"{'' if t.marketing_channel == 'all' else f' ({t.marketing_channel})'} {t.condition} {t.threshold:g} "
            f"on the latest day. Alerts to `{t.channel}`. Configured in dbt_project/seeds/metric_thresholds.csv.",
            blocking=False,
            metadata={"metric": t.metric, "alert_channel": t.channel, "severity": t.severity},
            automation_condition=dg.AutomationCondition.eager(),
        )
        for t in thresholds
    ]

    @dg.multi_asset_check(specs=specs, name="metric_thresholds", can_subset=True, pool=warehouse_pool("quality"))
    def metric_thresholds(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> Iterator[dg.AssetCheckResult]:
        with warehouse.connect(read_only=True) as con:
            for key in sorted(context.selected_asset_check_keys, key=lambda k: k.name):
                yield evaluate(con, by_name[key.name])

    return metric_thresholds


threshold_checks = build_threshold_checks()
