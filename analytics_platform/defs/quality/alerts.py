"""Alerts: one record, two destinations, never an exception.

Every alert is appended to ``<state_dir>/alerts.log`` (one JSON object per line; in SQL:
``SELECT * FROM read_json('.state/alerts.log')``) and POSTed as JSON to
``ANALYTICS_ALERT_WEBHOOK_URL`` when that is set and the alert's channel allows it (stdlib
``urllib``, short timeout). A destination that fails is logged and skipped: alerting must never
fail the sensor that raises the alert.

Alerts are not written into the warehouse: the sensors that raise them run outside any run, so
outside the ``warehouse`` pool that keeps writers one at a time, and a DuckLake commit on the
SQLite catalog fails when another writer commits during its transaction ("database is locked").
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import urllib.request
import uuid
from datetime import UTC, datetime
from typing import Any

from analytics_platform.settings import Settings

WEBHOOK_ENV = "ANALYTICS_ALERT_WEBHOOK_URL"
WEBHOOK_TIMEOUT_SECONDS = 5.0
log = logging.getLogger(__name__)

# The columns of alerts.log, for reading it with DuckDB (``alerts_source``).
ALERT_COLUMNS = {
    "alert_id": "VARCHAR", "kind": "VARCHAR", "severity": "VARCHAR", "channel": "VARCHAR", "title": "VARCHAR",
    "message": "VARCHAR", "run_id": "VARCHAR", "job_name": "VARCHAR", "asset_key": "VARCHAR",
    "check_name": "VARCHAR", "details": "JSON", "created_at": "TIMESTAMP",
}


def alerts_source(settings: Settings) -> str | None:
    """A DuckDB table expression over alerts.log (``SELECT … FROM {alerts_source(s)}``), or None
    while no alert has been logged. A line cut short by a crash is skipped."""
    if not settings.alerts_log.exists():
        return None
    columns = ", ".join(f"'{name}': '{kind}'" for name, kind in ALERT_COLUMNS.items())
    path = str(settings.alerts_log).replace("'", "''")
    return f"read_json('{path}', format='newline_delimited', columns={{{columns}}}, ignore_errors=true)"


@dataclasses.dataclass(frozen=True)
class Alert:
    kind: str  # run_failure | check_failure | threshold
    title: str
    message: str
    severity: str = "ERROR"  # ERROR | WARN
    channel: str = "webhook"  # log | webhook
    run_id: str | None = None
    job_name: str | None = None
    asset_key: str | None = None
    check_name: str | None = None
    details: dict[str, Any] = dataclasses.field(default_factory=dict)
    alert_id: str = dataclasses.field(default_factory=lambda: uuid.uuid4().hex)
    created_at: datetime = dataclasses.field(default_factory=lambda: datetime.now(UTC).replace(tzinfo=None))

    def as_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["created_at"] = self.created_at.isoformat()
        return data


def _to_log(alert: Alert, settings: Settings) -> None:
    settings.alerts_log.parent.mkdir(parents=True, exist_ok=True)
    with settings.alerts_log.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(alert.as_json(), default=str) + "\n")


def _to_webhook(alert: Alert, url: str) -> None:
    request = urllib.request.Request(
        url,
        data=json.dumps(alert.as_json(), default=str).encode("utf-8"),
        headers={"Content-Type": "application/json", "User-Agent": "analytics-platform-alerts"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:  # noqa: S310 (operator's URL)
        response.read(0)


def send_alerts(alerts: list[Alert], settings: Settings) -> dict[str, list[str]]:
    """Deliver ``alerts``; returns, per destination, the ids delivered (failures are logged)."""
    delivered: dict[str, list[str]] = {"log": [], "webhook": []}
    if not alerts:
        return delivered
    for alert in alerts:
        try:
            _to_log(alert, settings)
            delivered["log"].append(alert.alert_id)
        except Exception:  # noqa: BLE001 - alerting never raises
            log.exception("could not append alert %s to %s", alert.alert_id, settings.alerts_log)
    url = os.environ.get(WEBHOOK_ENV, "").strip()
    if url:
        for alert in alerts:
            if alert.channel != "webhook":
                continue
            try:
                _to_webhook(alert, url)
                delivered["webhook"].append(alert.alert_id)
            except Exception:  # noqa: BLE001
                log.warning("webhook delivery of alert %s failed", alert.alert_id, exc_info=True)
    return delivered
